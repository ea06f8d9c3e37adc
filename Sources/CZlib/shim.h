// The system's zlib (Debian: zlib1g-dev), for reading gzip-compressed corpora.
#include <zlib.h>
