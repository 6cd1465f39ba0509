import Foundation
import RevenueCore
import Transport

/// PayPal OAuth2 client-credentials session for one extract (docs/gateways "PayPal Transaction Search and Subscriptions"): one token, cached until
/// shortly before `expires_in` runs out, refreshed once when a call is answered 401.
final class PayPalSession {
  let api: GatewayAPI
  let clientID: Secret
  let clientSecret: Secret
  private var token: Secret?
  private var expires: ContinuousClock.Instant?
  private(set) var tokensFetched = 0

  init(api: GatewayAPI, clientID: Secret, clientSecret: Secret) {
    self.api = api
    self.clientID = clientID
    self.clientSecret = clientSecret
  }

  /// A valid access token (fetching one when none is cached or it is about to expire).
  func accessToken() async throws -> Secret {
    if let token, let expires, ContinuousClock.now < expires { return token }
    let label = "POST /v1/oauth2/token"
    let basic = Data("\(clientID.value):\(clientSecret.value)".utf8).base64EncodedString()
    Redactor.shared.register(basic)
    let request = HTTPRequest(
      method: "POST", url: try api.url("/v1/oauth2/token"),
      headers: [
        ("Authorization", "Basic \(basic)"), ("Content-Type", "application/x-www-form-urlencoded"),
        ("Accept", "application/json"),
      ], body: Array("grant_type=client_credentials".utf8))
    let response = try await api.send(request, label: label)
    if response.status == 400 || response.status == 401 || response.status == 403 {
      // PayPal answers a wrong client id/secret with 401 invalid_client (sometimes 400).
      var e = api.credentials[0].error(
        "was refused by PayPal when asking for an access token (HTTP \(response.status)\(GatewayAPI.describe(response))): check the client id and secret of the REST app (live vs sandbox)"
      )
      if api.credentials.count > 1 { e.message += "; also check \(api.credentials[1].key)" }
      throw e
    }
    try api.check(response, label: label)
    let body = try api.json(response, label: label)
    guard let value = body["access_token"]?.stringValue, !value.isEmpty else {
      throw ExtractError(source: api.source, "\(label) returned no access_token")
    }
    let lifetime = Int(body["expires_in"]?.int64Value ?? 3600)
    let margin = min(300, lifetime / 10)
    let t = Secret(value)
    token = t
    expires = ContinuousClock.now.advanced(by: .seconds(max(1, lifetime - margin)))
    tokensFetched += 1
    return t
  }

  /// GET with the bearer token; on 401 the token is refreshed once and the call repeated.
  func get(_ path: String, _ query: [(String, String)], label: String) async throws -> HTTPResponse {
    var refreshed = false
    while true {
      let t = try await accessToken()
      let request = HTTPRequest(
        method: "GET", url: try api.url(path, query),
        headers: [("Authorization", "Bearer \(t.value)"), ("Accept", "application/json")])
      let response = try await api.send(request, label: label)
      if response.status == 401 && !refreshed {
        token = nil
        refreshed = true
        continue
      }
      return response
    }
  }
}
