/**
 * The series catalogue: seeded at boot from a small JSON file the project
 * ships (services/community/series.json; idempotent by slug), and created by
 * admins. Each series has exactly one community, created with it.
 */
import { readFile } from "node:fs/promises";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type Community,
  CommunitySchema,
  type Series,
  SeriesSchema,
} from "../../gen/orbit/community/v1/community_pb.js";
import type { CommunityRow, SeriesRow } from "../../gen/orbit/community/v1/tables_pb.js";
import { CommunityRowDao, MemberRowDao, SeriesRowDao } from "../../gen/orbit/community/v1/tables_db.js";
import { Role } from "../../gen/orbit/community/v1/community_pb.js";
import type { IdGenerator } from "../../platform/ids.js";
import type { SqlDb } from "../../platform/storage/driver.js";

export const DEFAULT_SERIES_FILE = new URL("./series.json", import.meta.url);

export interface SeriesInput {
  readonly slug?: string;
  readonly title: string;
  readonly aliases?: readonly string[];
  readonly season?: string;
  readonly coverMediaId?: bigint;
  readonly coverUrl?: string;
  readonly ownerId?: bigint;
}

export function slugify(title: string): string {
  return title
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 100);
}

function searchText(title: string, aliases: readonly string[]): string {
  return [title, ...aliases].join(" | ").toLowerCase().slice(0, 4000);
}

export function toSeries(row: SeriesRow, communityId: bigint): Series {
  return create(SeriesSchema, {
    id: row.id,
    title: row.title,
    aliases: row.aliases,
    season: row.season,
    coverMediaId: row.coverMediaId,
    coverUrl: row.coverUrl,
    communityId,
    slug: row.slug,
  });
}

export function toCommunity(row: CommunityRow, series: SeriesRow | undefined): Community {
  return create(CommunitySchema, {
    id: row.id,
    seriesId: row.seriesId,
    title: row.title,
    memberCount: row.memberCount,
    ownerId: row.ownerId,
    createdAtMs: row.createdAtMs,
    series: series && toSeries(series, row.id),
  });
}

export class Catalogue {
  constructor(
    private readonly db: SqlDb,
    private readonly ids: IdGenerator,
  ) {}

  /** Adds a series and its community; AlreadyExists for a taken slug. */
  async create(input: SeriesInput): Promise<{ series: SeriesRow; community: CommunityRow }> {
    const slug = input.slug || slugify(input.title) || `series-${Date.now()}`;
    const now = BigInt(Date.now());
    const aliases = [...(input.aliases ?? [])].map((a) => a.trim()).filter(Boolean);
    const series: SeriesRow = {
      $typeName: "orbit.community.v1.SeriesRow",
      id: this.ids.next(),
      slug,
      title: input.title.trim(),
      aliases,
      season: input.season ?? "",
      coverMediaId: input.coverMediaId ?? 0n,
      coverUrl: input.coverUrl ?? "",
      search: searchText(input.title, aliases),
      createdAtMs: now,
    };
    const ownerId = input.ownerId ?? 0n;
    const community: CommunityRow = {
      $typeName: "orbit.community.v1.CommunityRow",
      id: this.ids.next(),
      seriesId: series.id,
      title: series.title,
      ownerId,
      memberCount: ownerId ? 1n : 0n,
      createdAtMs: now,
    };
    const created = await this.db.transaction(async (tx) => {
      if (!(await new SeriesRowDao(tx).insertIfAbsent(series))) return false;
      await new CommunityRowDao(tx).insert(community);
      if (ownerId) await new CommunityRowDao(tx).incrementMemberCount({ id: community.id }, 1);
      if (ownerId)
        await new MemberRowDao(tx).insert({
          communityId: community.id,
          userId: ownerId,
          role: Role.OWNER,
          joinedAtMs: now,
        });
      return true;
    });
    if (!created) throw new ConnectError(`a series with slug "${slug}" exists`, Code.AlreadyExists);
    return { series, community };
  }

  /** Seeds the catalogue from a JSON file (an array of SeriesInput); series already there (by slug) are kept. */
  async seed(file: string | URL): Promise<number> {
    const items = JSON.parse(await readFile(file, "utf8")) as SeriesInput[];
    if (!Array.isArray(items)) throw new Error(`${String(file)}: expected an array of series`);
    const dao = new SeriesRowDao(this.db);
    let added = 0;
    for (const item of items) {
      if (typeof item.title !== "string" || !item.title.trim())
        throw new Error(`${String(file)}: a series without title`);
      const slug = item.slug || slugify(item.title);
      if (await dao.getBySlug({ slug })) continue;
      try {
        await this.create({ ...item, slug, ownerId: 0n, coverMediaId: 0n });
        added++;
      } catch (err) {
        // Another bundle seeded it at the same time.
        if (!(err instanceof ConnectError && err.code === Code.AlreadyExists)) throw err;
      }
    }
    return added;
  }

  /** Series whose title or aliases contain every word of `query`, by id. */
  async list(query: string, limit: number, pageToken: string): Promise<{ rows: SeriesRow[]; next: string }> {
    const words = query.toLowerCase().split(/\s+/).filter(Boolean).slice(0, 8);
    let after = 0n;
    if (pageToken) {
      if (!/^\d{1,20}$/.test(pageToken)) throw new ConnectError("page_token: malformed", Code.InvalidArgument);
      after = BigInt(pageToken);
    }
    const where = ["id > ?", ...words.map(() => "search LIKE ? ESCAPE '!'")].join(" AND ");
    const args = [after, ...words.map((w) => `%${w.replace(/[!%_]/g, (c) => `!${c}`)}%`)];
    const rows = await this.db.all(
      `SELECT id FROM community_series WHERE ${where} ORDER BY id LIMIT ${limit + 1}`,
      args,
    );
    const ids = rows.map((r) => BigInt(r.id as bigint | number | string));
    const page = ids.slice(0, limit);
    const found = await new SeriesRowDao(this.db).getMany(page.map((id) => ({ id })));
    const byId = new Map(found.map((r) => [r.id, r]));
    return {
      rows: page.map((id) => byId.get(id)).filter((r): r is SeriesRow => r !== undefined),
      next: ids.length > limit ? String(page[page.length - 1]) : "",
    };
  }
}
