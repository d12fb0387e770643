/**
 * What `orbit new service <name>` writes: the proto files (API, tables,
 * events) and the service unit (definition, settings, handlers and their
 * test). The example is small but whole: an RPC that writes a row and
 * publishes an event in one transaction, a read, a paged list that uses a
 * setting, each checked by the test against a real bundle.
 */
import { dirname, relative } from "node:path/posix";
import { LAYOUT } from "./layout.js";
import type { Names } from "./names.js";

export interface ScaffoldFile {
  /** Path relative to the repository root. */
  readonly path: string;
  readonly text: string;
}

/** Import specifier of `to` (a repository path without extension) from the file `from`. */
function rel(from: string, to: string): string {
  const r = relative(dirname(from), to);
  return `${r.startsWith(".") ? r : `./${r}`}.js`;
}

export function scaffoldFiles(n: Names): ScaffoldFile[] {
  const pkg = `orbit.${n.proto}.v1`;
  const svc = LAYOUT.service(n);
  const gen = LAYOUT.gen(n);
  const at = (file: string) => `${svc}/${file}`;
  const imp = (file: string, target: string) => rel(at(file), target);
  const genOf = (file: string, what: string) => imp(file, `${gen}/${what}`);
  const service = `${n.pascal}Service`;
  const row = `${n.pascal}NoteRow`;
  return [
    {
      path: LAYOUT.api(n),
      text: `// The ${n.name} service's API.
syntax = "proto3";

package ${pkg};

import "orbit/options/v1/options.proto";

// ${service} is the ${n.name} API. (Scaffolded by \`orbit new service\`: notes are the example.)
service ${service} {
  // AddNote stores a note of the signed-in user and publishes NoteAdded.
  rpc AddNote(AddNoteRequest) returns (AddNoteResponse) {}
  // GetNote returns a note by id.
  rpc GetNote(GetNoteRequest) returns (GetNoteResponse) {
    option idempotency_level = NO_SIDE_EFFECTS;
  }
  // ListNotes lists a user's notes, newest first.
  rpc ListNotes(ListNotesRequest) returns (ListNotesResponse) {
    option idempotency_level = NO_SIDE_EFFECTS;
  }
}

// Note is a short text a user wrote.
message Note {
  int64 id = 1;
  int64 author_id = 2;
  string text = 3;
  int64 created_at_ms = 4;
}

// AddNoteRequest is the input of AddNote.
message AddNoteRequest {
  string text = 1 [(orbit.options.v1.validate) = {
    required: true
    max_len: 500
  }];
}

// AddNoteResponse is the output of AddNote.
message AddNoteResponse {
  Note note = 1;
}

// GetNoteRequest is the input of GetNote.
message GetNoteRequest {
  int64 id = 1 [(orbit.options.v1.validate) = {required: true}];
}

// GetNoteResponse is the output of GetNote.
message GetNoteResponse {
  Note note = 1;
}

// ListNotesRequest is the input of ListNotes.
message ListNotesRequest {
  int64 author_id = 1 [(orbit.options.v1.validate) = {required: true}];
  // 0: the service's --${n.name}-page-size.
  int32 page_size = 2 [(orbit.options.v1.validate) = {
    min: 0
    max: 100
  }];
  string page_token = 3 [(orbit.options.v1.validate) = {max_len: 1024}];
}

// ListNotesResponse is the output of ListNotes.
message ListNotesResponse {
  repeated Note notes = 1;
  string next_page_token = 2;
}
`,
    },
    {
      path: LAYOUT.tables(n),
      text: `// Storage rows of the ${n.name} service.
syntax = "proto3";

package ${pkg};

import "orbit/options/v1/options.proto";

// ${row} is a note (${service}.AddNote).
message ${row} {
  option (orbit.options.v1.table) = {
    sql: {
      name: "${n.snake}_notes"
      primary_key: ["id"]
      // A user's notes, newest first.
      index: {
        columns: ["author_id", "id"]
      }
    }
  };
  int64 id = 1;
  int64 author_id = 2;
  string text = 3 [(orbit.options.v1.column).sql_type = "varchar(500)"];
  int64 created_at_ms = 4;
}
`,
    },
    {
      path: LAYOUT.events(n),
      text: `// Events the ${n.name} service publishes.
syntax = "proto3";

package ${pkg};

import "orbit/options/v1/options.proto";

// NoteAdded: author_id added note note_id.
message NoteAdded {
  option (orbit.options.v1.event) = {
    topic: "${n.snake}.note_added"
    key_field: "author_id"
  };
  int64 note_id = 1;
  int64 author_id = 2;
}
`,
    },
    {
      path: at("service.ts"),
      text: `/** ${n.name}: TODO say in one line what the service does. */
import { NoteAddedSchema } from "${genOf("service.ts", "events_pb")}";
import { ${service} } from "${genOf("service.ts", `${n.proto}_pb`)}";
import { ${row}Table } from "${genOf("service.ts", "tables_db")}";
import { defineService } from "${imp("service.ts", "platform/kernel/service")}";
import { ${n.camel}Handlers } from "./handlers.js";
import { ${n.camel}Settings } from "./settings.js";

export const ${n.camel} = defineService({
  name: "${n.name}",
  description: "TODO: what ${n.name} does",
  // Services this one calls with ctx.client(…).
  deps: [],
  api: [${service}],
  settings: ${n.camel}Settings,
  tables: [${row}Table],
  publishes: [NoteAddedSchema],
  // Return consumers, routes, sockets, jobs and stop here too (docs/architecture.md).
  build: (ctx) => ({ rpc: [${n.camel}Handlers(ctx)] }),
});
`,
    },
    {
      path: at("settings.ts"),
      text: `/** The ${n.name} service's settings: --${n.name}-page-size, ORBIT_${n.snake.toUpperCase()}_PAGE_SIZE, "${n.camel}PageSize". */
import { setting } from "${imp("settings.ts", "platform/config/settings")}";

export const ${n.camel}Settings = {
  pageSize: setting.integer({ default: 20, min: 1, max: 100, unit: "notes", help: "notes per page of ListNotes" }),
};
`,
    },
    {
      path: at("handlers.ts"),
      text: `/** The ${service} handlers. */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { NoteAddedSchema } from "${genOf("handlers.ts", "events_pb")}";
import { NoteSchema, type ${service} } from "${genOf("handlers.ts", `${n.proto}_pb`)}";
import { ${row}Dao } from "${genOf("handlers.ts", "tables_db")}";
import type { ${row} } from "${genOf("handlers.ts", "tables_pb")}";
import type { ServiceContext } from "${imp("handlers.ts", "platform/kernel/context")}";
import { requireUser } from "${imp("handlers.ts", "platform/rpc/call-scope")}";
import type { ${n.camel}Settings } from "./settings.js";

function toNote(row: Pick<${row}, "id" | "authorId" | "text" | "createdAtMs">) {
  return create(NoteSchema, { id: row.id, authorId: row.authorId, text: row.text, createdAtMs: row.createdAtMs });
}

export function ${n.camel}Handlers(ctx: ServiceContext<typeof ${n.camel}Settings>): ServiceImpl<typeof ${service}> {
  const notes = new ${row}Dao(ctx.db);
  return {
    async addNote(req, hctx) {
      const authorId = BigInt(requireUser(hctx).userId);
      const row = { id: ctx.ids.next(), authorId, text: req.text, createdAtMs: BigInt(Date.now()) };
      // The row and its event commit together (or neither does).
      await ctx.db.transaction(async (tx) => {
        await notes.with(tx).insert(row);
        await ctx.events.publish(tx, NoteAddedSchema, { noteId: row.id, authorId });
      });
      return { note: toNote(row) };
    },

    async getNote(req) {
      const row = await notes.get({ id: req.id });
      if (!row) throw new ConnectError("note not found", Code.NotFound);
      return { note: toNote(row) };
    },

    async listNotes(req) {
      const page = await notes.listByAuthorId(
        { authorId: req.authorId },
        { limit: req.pageSize || ctx.settings.pageSize, pageToken: req.pageToken, order: "desc" },
      );
      return { notes: page.rows.map(toNote), nextPageToken: page.nextPageToken };
    },
  };
}
`,
    },
    {
      path: at("handlers.test.ts"),
      text: `/** ${n.name} in a bundle (its registry entry, a fresh SQLite store), called over the network. */
import { Code, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ${service} } from "${genOf("handlers.test.ts", `${n.proto}_pb`)}";
import { DEFAULT_CONFIG } from "${imp("handlers.test.ts", "platform/config/config")}";
import { Bundle } from "${imp("handlers.test.ts", "platform/kernel/bundle")}";
import { silentLogger } from "${imp("handlers.test.ts", "platform/log")}";
import { sqliteStore, type TestStore } from "${imp("handlers.test.ts", LAYOUT.testStores.replace(/\.ts$/, ""))}";
import { registry } from "${imp("handlers.test.ts", LAYOUT.registry.replace(/\.ts$/, ""))}";

const ANN = { headers: { authorization: "Bearer tok-ann" } };

describe("${n.name}", () => {
  let store: TestStore;
  let bundle: Bundle;
  let api: Client<typeof ${service}>;
  beforeAll(async () => {
    store = sqliteStore();
    bundle = await Bundle.start({
      registry,
      config: { ...DEFAULT_CONFIG, services: ["${n.name}"], host: "127.0.0.1", port: 0, devTokens: { "tok-ann": "1" } },
      db: store.db,
      log: silentLogger(),
    });
    api = createClient(${service}, createConnectTransport({ baseUrl: bundle.url!, httpVersion: "2" }));
  });
  afterAll(async () => {
    await bundle?.stop();
    await store?.dispose();
  });

  it("adds a note of the signed-in user, publishes NoteAdded, and reads it back", async () => {
    const { note } = await api.addNote({ text: "hello" }, ANN);
    expect(note).toMatchObject({ authorId: 1n, text: "hello" });
    expect((await api.getNote({ id: note!.id })).note?.text).toBe("hello");
    expect((await api.listNotes({ authorId: 1n })).notes.map((x) => x.text)).toEqual(["hello"]);
    expect(bundle.parts.events.bus.stats().published).toBe(1);
  });

  it("refuses anonymous writes, empty notes and unknown ids", async () => {
    await expect(api.addNote({ text: "x" })).rejects.toMatchObject({ code: Code.Unauthenticated });
    await expect(api.addNote({ text: "" }, ANN)).rejects.toMatchObject({ code: Code.InvalidArgument });
    await expect(api.getNote({ id: 999n })).rejects.toMatchObject({ code: Code.NotFound });
  });
});
`,
    },
  ];
}
