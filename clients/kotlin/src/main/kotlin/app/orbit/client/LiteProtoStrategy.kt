package app.orbit.client

import com.connectrpc.AnyError
import com.connectrpc.Codec
import com.connectrpc.ConnectErrorDetail
import com.connectrpc.ErrorDetailParser
import com.connectrpc.SerializationStrategy
import com.google.protobuf.ByteString
import com.google.protobuf.CodedInputStream
import com.google.protobuf.MessageLite
import com.google.protobuf.WireFormat
import okio.Buffer
import okio.BufferedSource
import kotlin.reflect.KClass

/**
 * Binary protobuf for Java *lite* messages (what Android apps generate), for connect-kotlin.
 *
 * connect-kotlin ships this as `com.connectrpc:connect-kotlin-google-javalite-ext`
 * (`GoogleJavaLiteProtobufStrategy()`); an Android app should depend on that. The Maven mirror
 * Orbit's CI reaches does not serve that artifact, so this program carries the same few lines:
 * messages are written with `toByteArray()` and read with the type's own parser.
 */
class LiteProtoStrategy : SerializationStrategy {
    override fun serializationName(): String = "proto"

    override fun <E : Any> codec(clazz: KClass<E>): Codec<E> = LiteCodec(clazz)

    override fun errorDetailParser(): ErrorDetailParser = LiteErrorDetailParser
}

private class LiteCodec<E : Any>(clazz: KClass<E>) : Codec<E> {
    private val defaultInstance: MessageLite =
        clazz.java.getMethod("getDefaultInstance").invoke(null) as MessageLite

    override fun encodingName(): String = "proto"

    override fun serialize(message: E): Buffer = Buffer().write((message as MessageLite).toByteArray())

    // Lite messages have no reflection-based canonical form; their field order is already fixed.
    override fun deterministicSerialize(message: E): Buffer = serialize(message)

    @Suppress("UNCHECKED_CAST")
    override fun deserialize(source: BufferedSource): E =
        defaultInstance.parserForType.parseFrom(source.inputStream()) as E
}

/**
 * Error details travel as a google.rpc.Status (gRPC's grpc-status-details-bin) whose field 3
 * holds google.protobuf.Any values; read them with the lite wire reader, no generated types needed.
 */
private object LiteErrorDetailParser : ErrorDetailParser {
    override fun <E : Any> unpack(any: AnyError, clazz: KClass<E>): E? {
        val instance = clazz.java.getMethod("getDefaultInstance").invoke(null) as MessageLite
        @Suppress("UNCHECKED_CAST")
        return instance.parserForType.parseFrom(any.value.toByteArray()) as E
    }

    override fun parseDetails(bytes: ByteArray): List<ConnectErrorDetail> {
        val out = mutableListOf<ConnectErrorDetail>()
        val status = CodedInputStream.newInstance(bytes)
        while (true) {
            val tag = status.readTag()
            if (tag == 0) break
            if (WireFormat.getTagFieldNumber(tag) != 3) {
                status.skipField(tag)
                continue
            }
            val any = CodedInputStream.newInstance(status.readBytes().toByteArray())
            var typeUrl = ""
            var value = ByteString.EMPTY
            while (true) {
                val t = any.readTag()
                if (t == 0) break
                when (WireFormat.getTagFieldNumber(t)) {
                    1 -> typeUrl = any.readString()
                    2 -> value = any.readBytes()
                    else -> any.skipField(t)
                }
            }
            out.add(ConnectErrorDetail(typeUrl, okio.ByteString.of(*value.toByteArray())))
        }
        return out
    }
}
