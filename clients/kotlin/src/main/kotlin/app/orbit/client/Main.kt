package app.orbit.client

import com.connectrpc.Code
import com.connectrpc.ConnectException
import com.connectrpc.ResponseMessage
import com.connectrpc.protocols.NetworkProtocol
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlin.system.exitProcess
import kotlin.time.Duration.Companion.milliseconds
import app.orbit.api.feed.v1.GetHomeFeedRequest
import app.orbit.api.graph.v1.FollowRequest
import app.orbit.api.post.v1.AddCommentRequest
import app.orbit.api.post.v1.CreatePostRequest
import app.orbit.api.post.v1.DeletePostRequest
import app.orbit.api.post.v1.GetPostRequest
import app.orbit.api.post.v1.LikePostRequest
import app.orbit.api.user.v1.BlockRequest
import app.orbit.api.user.v1.GetMeRequest
import app.orbit.api.user.v1.LogInRequest
import app.orbit.api.user.v1.SignUpRequest

/**
 * The social scenario against a running bundle, as an Android app would call it:
 *
 *   java -jar target/orbit-client.jar <base url> <connect|grpc|grpc-web>
 *
 * Prints one "ok <step>: …" line per step and "scenario passed: …" at the end (exit 0), or
 * "FAIL <step>: …" (exit 1). Exit 2: bad arguments.
 */
fun main(args: Array<String>) {
    if (args.size != 2 || args[1] !in PROTOCOLS) {
        System.err.println("usage: orbit-client <base url> <${PROTOCOLS.keys.joinToString("|")}>")
        exitProcess(2)
    }
    val code = runBlocking { Scenario(args[0], args[1]).run() }
    exitProcess(code)
}

private val PROTOCOLS =
    mapOf("connect" to NetworkProtocol.CONNECT, "grpc" to NetworkProtocol.GRPC, "grpc-web" to NetworkProtocol.GRPC_WEB)

private class StepFailed(message: String) : Exception(message)

/** The message of a successful call, or StepFailed with the error the server answered. */
private fun <T> ResponseMessage<T>.ok(what: String): T =
    when (this) {
        is ResponseMessage.Success -> message
        is ResponseMessage.Failure -> throw StepFailed("$what failed: ${cause.code.codeName}: ${cause.message}")
    }

/** The error of a call that had to fail with `code`. */
private fun <T> ResponseMessage<T>.fails(what: String, code: Code): ConnectException =
    when (this) {
        is ResponseMessage.Success -> throw StepFailed("$what succeeded; expected ${code.codeName}")
        is ResponseMessage.Failure -> {
            if (cause.code != code) {
                throw StepFailed("$what: got ${cause.code.codeName} (${cause.message}); expected ${code.codeName}")
            }
            cause
        }
    }

/** As [fails], with any of [codes]. */
private fun <T> ResponseMessage<T>.failsWithAny(what: String, vararg codes: Code): ConnectException =
    when (this) {
        is ResponseMessage.Success ->
            throw StepFailed("$what succeeded; expected ${codes.joinToString(" or ") { it.codeName }}")
        is ResponseMessage.Failure -> {
            if (cause.code !in codes) {
                throw StepFailed(
                    "$what: got ${cause.code.codeName} (${cause.message}); expected ${codes.joinToString(" or ") { it.codeName }}",
                )
            }
            cause
        }
    }

private fun check(condition: Boolean, message: () -> String) {
    if (!condition) throw StepFailed(message())
}

private class Scenario(private val url: String, private val protocolName: String) {
    private val protocol = PROTOCOLS.getValue(protocolName)
    private val orbit = Orbit(url, protocol)
    private var steps = 0

    private suspend fun step(name: String, body: suspend () -> String) {
        val detail = body()
        steps++
        println("ok $name: $detail")
    }

    suspend fun run(): Int {
        val started = System.nanoTime()
        var current = "start"
        return try {
            scenario { current = it }
            val ms = (System.nanoTime() - started) / 1_000_000
            println("scenario passed: $steps steps over $protocolName in $ms ms")
            0
        } catch (e: StepFailed) {
            println("FAIL $current: ${e.message}")
            1
        } catch (e: Exception) {
            println("FAIL $current: ${e::class.simpleName}: ${e.message}")
            1
        } finally {
            orbit.close()
        }
    }

    private suspend fun scenario(at: (String) -> Unit) {
        // Handles unique per run (3..30 of [A-Za-z0-9_]), so the scenario can run again on the same store.
        val tag = java.lang.Long.toString(System.currentTimeMillis() % 2_000_000_000L, 36) + protocolName.take(1)
        val password = "kotlin-secret-1"
        lateinit var annToken: String
        lateinit var bobToken: String
        var annId = 0L
        var bobId = 0L
        val created = mutableListOf<Long>()

        at("sign-up")
        step("sign-up") {
            val ann = orbit.users.signUp(signUp("ann_$tag", password), emptyMap()).ok("SignUp ann")
            val bob = orbit.users.signUp(signUp("bob_$tag", password), emptyMap()).ok("SignUp bob")
            annToken = ann.token
            bobToken = bob.token
            annId = ann.user.id
            bobId = bob.user.id
            check(annToken.isNotEmpty() && bobToken.isNotEmpty()) { "SignUp returned no token" }
            "${ann.user.handle} (id $annId) and ${bob.user.handle} (id $bobId)"
        }

        at("log-in")
        step("log-in") {
            val login =
                orbit.users.logIn(
                    LogInRequest.newBuilder().setHandle("ann_$tag").setPassword(password).setDeviceName("pixel").build(),
                    emptyMap(),
                ).ok("LogIn")
            check(login.user.id == annId) { "LogIn returned user ${login.user.id}, expected $annId" }
            check(login.token != annToken) { "LogIn returned the sign-up token again" }
            annToken = login.token
            val me = orbit.users.getMe(GetMeRequest.getDefaultInstance(), Orbit.bearer(annToken)).ok("GetMe")
            check(me.user.handle == "ann_$tag") { "GetMe answered ${me.user.handle}" }
            "a second session for ${me.user.handle}"
        }

        val ann = Orbit.bearer(annToken)
        val bob = Orbit.bearer(bobToken)

        at("follow")
        step("follow") {
            val r = orbit.graph.follow(FollowRequest.newBuilder().setUserId(annId).build(), bob).ok("Follow")
            check(r.relationship.following) { "bob does not follow ann after Follow" }
            "bob follows ann"
        }

        at("post")
        step("post") {
            for (i in 0 until 5) {
                val p =
                    orbit.posts.createPost(
                        CreatePostRequest.newBuilder().setText("kotlin post $i #android").build(),
                        ann,
                    ).ok("CreatePost $i")
                check(p.post.authorId == annId) { "post ${p.post.id} has author ${p.post.authorId}" }
                created += p.post.id
            }
            check(created.toSet().size == 5) { "post ids repeat: $created" }
            "ann posted ${created.size} posts"
        }
        val first = created.first()

        at("like twice")
        step("like twice") {
            val once = orbit.posts.likePost(LikePostRequest.newBuilder().setPostId(first).build(), bob).ok("LikePost")
            val twice = orbit.posts.likePost(LikePostRequest.newBuilder().setPostId(first).build(), bob).ok("LikePost")
            check(once.likeCount == 1L && twice.likeCount == 1L) {
                "like counts ${once.likeCount} then ${twice.likeCount}; expected 1 and 1"
            }
            "like_count 1 after two likes"
        }

        at("comment")
        step("comment") {
            val c =
                orbit.posts.addComment(
                    AddCommentRequest.newBuilder().setPostId(first).setText("nice one from kotlin").build(),
                    bob,
                ).ok("AddComment")
            check(c.comment.authorId == bobId) { "comment author ${c.comment.authorId}" }
            val post = orbit.posts.getPost(GetPostRequest.newBuilder().setPostId(first).build(), bob).ok("GetPost")
            check(post.post.commentCount == 1L && post.post.likeCount == 1L && post.post.likedByMe) {
                "post shows comments ${post.post.commentCount}, likes ${post.post.likeCount}, liked ${post.post.likedByMe}"
            }
            "comment ${c.comment.id}; the post shows 1 like and 1 comment"
        }

        at("home feed")
        step("home feed") {
            // The feed is filled by an event consumer (fan-out on write): wait for it, bounded.
            val deadline = System.currentTimeMillis() + 15_000
            while (feedPage(bob, 100, "").postsCount < created.size) {
                check(System.currentTimeMillis() < deadline) { "bob's feed never held ann's ${created.size} posts" }
                delay(50)
            }
            val pages = mutableListOf<List<Long>>()
            var token = ""
            do {
                val page = feedPage(bob, 2, token)
                pages += page.postsList.map { it.id }
                token = page.nextPageToken
                check(pages.size <= 10) { "next_page_token never ends" }
            } while (token.isNotEmpty())
            check(pages.map { it.size } == listOf(2, 2, 1)) { "page sizes ${pages.map { it.size }}" }
            check(pages.flatten() == created.reversed()) { "feed order ${pages.flatten()}, expected ${created.reversed()}" }
            "${pages.size} pages (${pages.joinToString(",") { it.size.toString() }}), newest first, to the end"
        }

        at("non-owner delete")
        step("non-owner delete") {
            val e = orbit.posts.deletePost(DeletePostRequest.newBuilder().setPostId(first).build(), bob)
                .fails("bob deleting ann's post", Code.PERMISSION_DENIED)
            "permission_denied: ${e.message}"
        }

        at("no token")
        step("no token") {
            val e = orbit.users.getMe(GetMeRequest.getDefaultInstance(), emptyMap())
                .fails("GetMe without a token", Code.UNAUTHENTICATED)
            "unauthenticated: ${e.message}"
        }

        at("bad input")
        step("bad input") {
            val e = orbit.posts.createPost(CreatePostRequest.newBuilder().setText("x".repeat(2001)).build(), ann)
                .fails("a 2001-character post", Code.INVALID_ARGUMENT)
            check(e.message?.contains("text") == true) { "the error does not name the field: ${e.message}" }
            "invalid_argument: ${e.message}"
        }

        at("short deadline")
        step("short deadline") {
            val login = LogInRequest.newBuilder().setHandle("ann_$tag").setPassword(password).build()
            // As an app sets it: a deadline on the client (sent as connect-timeout-ms / grpc-timeout).
            val hurried = Orbit(url, protocol, timeout = 1.milliseconds)
            try {
                // The client's own timer and the server's (1 ms each) race: the server's answer is
                // deadline_exceeded; connect-kotlin reports its own OkHttp call timeout as canceled
                // ("Socket closed") when that fires first. Either way the call must not succeed.
                hurried.users
                    .logIn(login, emptyMap())
                    .failsWithAny("LogIn with a 1 ms deadline", Code.DEADLINE_EXCEEDED, Code.CANCELED)
            } finally {
                hurried.close()
            }
            // The server's own answer: only the header, no timer in the client.
            val header =
                if (protocol == NetworkProtocol.CONNECT) "connect-timeout-ms" to listOf("1") else "grpc-timeout" to listOf("1m")
            val e = orbit.users.logIn(login, mapOf(header)).fails("LogIn with ${header.first}: 1 ms", Code.DEADLINE_EXCEEDED)
            "deadline_exceeded on the client and from the server (${e.message})"
        }

        at("block")
        step("block") {
            orbit.users.block(BlockRequest.newBuilder().setUserId(bobId).build(), ann).ok("Block")
            orbit.graph.follow(FollowRequest.newBuilder().setUserId(annId).build(), bob)
                .fails("bob following ann after the block", Code.PERMISSION_DENIED)
            val deadline = System.currentTimeMillis() + 15_000
            while (feedPage(bob, 100, "").postsList.any { it.authorId == annId }) {
                check(System.currentTimeMillis() < deadline) { "ann's posts stay in bob's feed after the block" }
                delay(50)
            }
            "ann blocked bob: bob cannot follow her and her posts left his feed"
        }
    }

    private suspend fun feedPage(headers: Map<String, List<String>>, size: Int, token: String) =
        orbit.feed.getHomeFeed(
            GetHomeFeedRequest.newBuilder().setPageSize(size).setPageToken(token).build(),
            headers,
        ).ok("GetHomeFeed")

    private fun signUp(handle: String, password: String): SignUpRequest =
        SignUpRequest.newBuilder().setHandle(handle).setPassword(password).setDisplayName(handle.uppercase()).build()
}
