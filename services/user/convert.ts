/** Storage rows → API messages of the user service. */
import { create } from "@bufbuild/protobuf";
import { UserSchema, type User } from "../../gen/orbit/user/v1/user_pb.js";
import type { UserRow } from "../../gen/orbit/user/v1/tables_pb.js";

export function toUser(row: UserRow): User {
  return create(UserSchema, {
    id: row.id,
    handle: row.handle,
    displayName: row.displayName,
    bio: row.bio,
    avatarMediaId: row.avatarMediaId,
    createdAtMs: row.createdAtMs,
  });
}
