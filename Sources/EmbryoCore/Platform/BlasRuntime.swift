// Which OpenBLAS kernels run, and how to get the fast ones. Debian's OpenBLAS 0.3.21 does not know
// newer AVX-512 CPUs (AMD Zen 4/5) and falls back to its AVX2 "Haswell" kernels; it reads
// OPENBLAS_CORETYPE only when the library loads, so the CLI re-executes itself once with SkylakeX set
// when the CPU has the AVX-512 subsets those kernels use. A user's own OPENBLAS_CORETYPE always wins.

import CBLAS
import Foundation

public enum BlasRuntime {
    /// The kernel set OpenBLAS chose at load time (e.g. "Haswell", "SkylakeX").
    public static var coreName: String { String(cString: openblas_get_corename()) }

    static let avx512Cores: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]

    /// "SkylakeX" when the CPU has AVX-512 F/CD/BW/DQ/VL but OpenBLAS picked another kernel set.
    public static func betterCoreType(
        cpuinfo: String? = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
        current: String = coreName
    ) -> String? {
        guard let info = cpuinfo, let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else {
            return nil
        }
        let flags = Set(line.split(separator: " ").map(String.init))
        let needed = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]
        guard needed.allSatisfy(flags.contains) else { return nil }
        return avx512Cores.contains(current.lowercased()) ? nil : "SkylakeX"
    }

    /// Re-executes the current process with OPENBLAS_CORETYPE set when that gives faster kernels.
    /// Returns only when no re-exec is needed or it failed (the process then runs on as it is).
    public static func reexecWithFastKernelsIfNeeded() {
        if getenv("OPENBLAS_CORETYPE") != nil || getenv("EMBRYO_NO_REEXEC") != nil { return }
        guard let core = betterCoreType() else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        let args = CommandLine.arguments
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cargs.append(nil)
        fflush(stdout)
        fflush(stderr)
        execv("/proc/self/exe", &cargs)
        // exec failed: carry on with the kernels already loaded
        unsetenv("OPENBLAS_CORETYPE")
        for p in cargs { free(p) }
    }
}

public enum ProcessStats {
    /// Peak resident set size of this process in MiB (getrusage ru_maxrss is in KiB on Linux).
    public static var peakRSSMiB: Double {
        var u = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
        return Double(u.ru_maxrss) / 1024
    }
}
