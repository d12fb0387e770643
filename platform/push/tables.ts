/** The push part's tables (proto/internal/orbit/push/v1/tables.proto): every bundle migrates them. */
import { PushHeadRowTable, PushStreamRowTable } from "../../gen/orbit/push/v1/tables_db.js";
import type { TableSpec } from "../storage/schema.js";

export const PUSH_TABLES: readonly TableSpec[] = [PushHeadRowTable, PushStreamRowTable];
