import Foundation
import RevenueCore
import Staging

/// The staging root must be a folder this process can create files in.
public enum StagingCheck {
  public static func writable(_ area: StagingArea) throws -> String {
    let parent = (area.root as NSString).deletingLastPathComponent
    func refuse(_ why: String) -> ConfigurationError {
      ConfigurationError(
        "staging root '\(parent)' cannot be used: \(why); set staging_root (or ETL_STAGING_ROOT) to a writable folder")
    }
    var isDir: ObjCBool = false
    // Walk up to the first existing ancestor: it must be a folder.
    var probe = parent
    while !FileManager.default.fileExists(atPath: probe, isDirectory: &isDir) {
      let up = (probe as NSString).deletingLastPathComponent
      if up == probe || up.isEmpty { break }
      probe = up
    }
    if FileManager.default.fileExists(atPath: probe, isDirectory: &isDir), !isDir.boolValue {
      throw refuse("'\(probe)' is a file, not a folder")
    }
    do {
      try area.prepare()
    } catch {
      throw refuse("\(error)")
    }
    let test = area.root + "/.write-test-\(getpid())"
    guard FileManager.default.createFile(atPath: test, contents: Data("ok".utf8)) else {
      throw refuse("cannot create a file in \(area.root) (\(String(cString: strerror(errno))))")
    }
    unlink(test)
    return "staging root \(parent): writable"
  }
}
