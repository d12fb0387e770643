package app.orbit.client

import app.orbit.api.feed.v1.FeedServiceClient
import app.orbit.api.graph.v1.GraphServiceClient
import app.orbit.api.post.v1.PostServiceClient
import app.orbit.api.user.v1.UserServiceClient
import com.connectrpc.Headers
import com.connectrpc.ProtocolClientConfig
import com.connectrpc.impl.ProtocolClient
import com.connectrpc.okhttp.ConnectOkHttpClient
import com.connectrpc.protocols.NetworkProtocol
import okhttp3.OkHttpClient
import okhttp3.Protocol
import java.time.Duration
import kotlin.time.Duration as KDuration

/**
 * Orbit's four services over one connect-kotlin ProtocolClient — what an Android app builds
 * once and keeps (docs/clients.md shows the same in a few lines).
 *
 * @param baseUrl  the bundle, e.g. "https://api.example.com" or "http://10.0.2.2:8080"
 * @param protocol CONNECT (HTTP/1.1 or HTTP/2), GRPC (HTTP/2 only) or GRPC_WEB
 * @param timeout  the deadline of every call, sent as connect-timeout-ms / grpc-timeout
 */
class Orbit(baseUrl: String, protocol: NetworkProtocol, timeout: KDuration? = null) {
    private val okHttp: OkHttpClient =
        OkHttpClient.Builder()
            // gRPC needs HTTP/2. Over https OkHttp negotiates it (ALPN); over plain http
            // (a local bundle) it must be told the server speaks HTTP/2 from the first byte.
            .protocols(
                if (protocol == NetworkProtocol.GRPC && baseUrl.startsWith("http://")) {
                    listOf(Protocol.H2_PRIOR_KNOWLEDGE)
                } else {
                    listOf(Protocol.HTTP_2, Protocol.HTTP_1_1)
                },
            )
            .readTimeout(Duration.ofSeconds(30))
            .build()

    private val client =
        ProtocolClient(
            httpClient = ConnectOkHttpClient(okHttp),
            config =
                ProtocolClientConfig(
                    host = baseUrl,
                    serializationStrategy = LiteProtoStrategy(),
                    networkProtocol = protocol,
                    timeoutOracle = { timeout },
                ),
        )

    val users = UserServiceClient(client)
    val graph = GraphServiceClient(client)
    val posts = PostServiceClient(client)
    val feed = FeedServiceClient(client)

    fun close() {
        okHttp.dispatcher.executorService.shutdown()
        okHttp.connectionPool.evictAll()
    }

    companion object {
        /** The headers of a call made as a signed-in user (the token from SignUp or LogIn). */
        fun bearer(token: String): Headers = mapOf("authorization" to listOf("Bearer $token"))
    }
}
