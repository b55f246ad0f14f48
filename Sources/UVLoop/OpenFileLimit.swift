#if canImport(Glibc)
    import Glibc
#endif

/// The process's limit on open descriptors: every connection and every cached blob file holds
/// one, and distributions start processes with a soft limit (often 1024) far below what a server
/// with thousands of keep-alive connections needs.
public enum OpenFileLimit {
    /// Raises the soft limit to the hard one and returns the soft limit now in force (0 if it
    /// cannot be read).
    @discardableResult
    public static func raiseToHardLimit() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return UInt64(limit.rlim_cur)
    }
}
