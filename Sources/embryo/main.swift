// embryo: the command-line entry point. Picks OpenBLAS's fastest kernels for this CPU, then dispatches
// to one subcommand. Exit codes: 0 success, 1 runtime error, 64 usage error.

import EmbryoCore
import Foundation

BlasRuntime.reexecWithFastKernelsIfNeeded()
setvbuf(stdout, nil, _IOLBF, 0)
exit(CLI.run(Array(CommandLine.arguments.dropFirst())))
