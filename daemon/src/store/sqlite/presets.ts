import type { PresetRecord, PresetsRepo } from '../types.js';
import type { Db } from './db.js';

const COLUMNS = 'id, name, prefix, suffix, negative, created_at AS createdAt';

export function makePresetsRepo(db: Db): PresetsRepo {
  const put =
    db.prepare(`INSERT INTO presets (id, name, prefix, suffix, negative, created_at) VALUES (@id, @name, @prefix, @suffix, @negative, @createdAt)
    ON CONFLICT (name) DO UPDATE SET prefix = excluded.prefix, suffix = excluded.suffix, negative = excluded.negative`);
  const find = db.prepare(`SELECT ${COLUMNS} FROM presets WHERE id = ? OR name = ?`);
  const list = db.prepare(`SELECT ${COLUMNS} FROM presets ORDER BY name`);
  const del = db.prepare('DELETE FROM presets WHERE id = ? OR name = ?');
  return {
    async put(p) {
      put.run(p);
      return find.get(p.name, p.name) as PresetRecord;
    },
    async find(idOrName) {
      return (find.get(idOrName, idOrName) as PresetRecord | undefined) ?? null;
    },
    async list() {
      return list.all() as PresetRecord[];
    },
    async delete(idOrName) {
      return del.run(idOrName, idOrName).changes > 0;
    },
  };
}
