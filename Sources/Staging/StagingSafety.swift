import Foundation
import RevenueCore

#if canImport(Glibc)
  import Glibc
#endif

/// Checks on the staging folder's own folders and files, so nothing written or read there can be
/// redirected by a symbolic link or tampered with by another account.
///
/// The pipeline folder, `runs/`, every run folder and every stage folder must be real folders (not
/// symbolic links), owned by the user running the ETL and closed to group and others (0700, like
/// every folder the ETL creates: staged files hold personal data). A folder that fails is refused,
/// never repaired silently: a link there means someone redirected the run.
public enum StagingSafety {
  /// Throws unless `path` is a real folder owned by us with no group/other permissions.
  /// `what` names it in the message ("the pipeline folder").
  public static func checkFolder(_ path: String, what: String) throws {
    var st = stat()
    guard lstat(path, &st) == 0 else {
      throw StagingError("cannot inspect \(what) \(path): \(String(cString: strerror(errno)))")
    }
    let type = st.st_mode & S_IFMT
    if type == S_IFLNK {
      throw StagingError(
        "\(what) \(path) is a symbolic link; staging folders must be real folders (remove the link and rerun)")
    }
    guard type == S_IFDIR else { throw StagingError("\(what) \(path) is not a folder; remove it and rerun") }
    try checkOwnership(st, path: path, what: what)
  }

  /// The same rules for a regular file opened as `fd` (after `open(…, O_NOFOLLOW)`). `private`: false
  /// for a file that holds no personal data (the lock names only its holder), where another user's
  /// read bits do no harm; ownership is checked either way.
  public static func checkOpenFile(_ fd: Int32, path: String, what: String, private: Bool = true) throws {
    var st = stat()
    guard fstat(fd, &st) == 0 else {
      throw StagingError("cannot inspect \(what) \(path): \(String(cString: strerror(errno)))")
    }
    guard st.st_mode & S_IFMT == S_IFREG else {
      throw StagingError("\(what) \(path) is not a regular file; remove it and rerun")
    }
    try checkOwnership(st, path: path, what: what, private: `private`)
  }

  static func checkOwnership(_ st: stat, path: String, what: String, private: Bool = true) throws {
    let me = geteuid()
    if st.st_uid != me {
      throw StagingError(
        "\(what) \(path) belongs to user id \(st.st_uid), not to the user running the ETL (\(me)); "
          + "staged data must not be shared: use a staging_root of your own or fix its owner")
    }
    if `private`, st.st_mode & 0o077 != 0 {
      throw StagingError(
        "\(what) \(path) is open to group or others (mode \(String(st.st_mode & 0o777, radix: 8))); "
          + "staged files hold personal data: `chmod -R go-rwx \(path)` and rerun")
    }
  }

  /// Opens `path` without following a symbolic link at its last component; a link is refused.
  public static func openNoFollow(_ path: String, flags: Int32, mode: mode_t = 0o600, what: String) throws -> Int32 {
    let fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, mode)
    if fd < 0 {
      let e = errno
      if e == ELOOP {
        throw StagingError("\(what) \(path) is a symbolic link; remove the link and rerun")
      }
      throw StagingError("cannot open \(what) \(path): \(String(cString: strerror(e)))")
    }
    return fd
  }

  /// The pipeline folder and `runs/`.
  public static func checkArea(_ area: StagingArea) throws {
    try checkFolder(area.root, what: "the pipeline folder")
    if FileSystem.exists(area.runsDirectory) || isLink(area.runsDirectory) {
      try checkFolder(area.runsDirectory, what: "the runs folder")
    }
  }

  /// A run folder (and the folders above it).
  public static func checkRun(_ run: RunFolder) throws {
    try checkArea(run.area)
    try checkFolder(run.path, what: "run folder")
  }

  static func isLink(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFLNK
  }
}
