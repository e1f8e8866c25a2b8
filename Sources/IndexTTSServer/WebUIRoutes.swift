import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension SpeechServer {
    /// The WebUI (`/`, `/ui/app.js`, `/ui/app.css`): static files compiled into the binary; the page drives the
    /// public API like any other client.
    func addWebUIRoutes(_ router: Router<ServerRequestContext>) {
        let files: [(String, [UInt8], String)] = [
            ("/", PackageResources.index_html, "text/html; charset=utf-8"),
            ("/ui/app.js", PackageResources.app_js, "text/javascript; charset=utf-8"),
            ("/ui/app.css", PackageResources.app_css, "text/css; charset=utf-8"),
        ]
        for (path, bytes, type) in files {
            router.get(RouterPath(path)) { _, _ -> Response in
                var headers = HTTPFields()
                headers[.contentType] = type
                headers[.cacheControl] = "no-cache"
                headers[.contentSecurityPolicy] = "default-src 'self'; media-src 'self' blob:; img-src 'self' data:"
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
            }
        }
    }
}
