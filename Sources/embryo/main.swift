// embryo: the command-line entry point. Picks OpenBLAS's fastest kernels for this CPU, then dispatches
// to one subcommand. Exit codes: 0 success, 1 runtime error, 64 usage error.

import EmbryoCore
import EmbryoRun
import Foundation

BlasRuntime.reexecWithFastKernelsIfNeeded()
setvbuf(stdout, nil, _IOLBF, 0)
let code = CLI.run(Array(CommandLine.arguments.dropFirst()))
// output lost to a full disk or a closed pipe is an error, not a success
if fflush(stdout) != 0 || ferror(stdout) != 0 {
    let reason = String(cString: strerror(errno))
    writeStandardError("Error: could not write the output to standard output: \(reason)\n")
    exit(code == 0 ? 1 : code)
}
exit(code)
