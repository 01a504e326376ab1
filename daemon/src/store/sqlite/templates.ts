import type { TemplateRecord, TemplatesRepo } from '../types.js';
import type { Db } from './db.js';

const COLUMNS = `id, name, description, graph_json AS graphJson, params_json AS paramsJson, builtin, created_at AS createdAt, warnings_json AS warningsJson`;
type Row = Omit<TemplateRecord, 'builtin'> & { builtin: number };
const toTemplate = (r: Row): TemplateRecord => ({ ...r, builtin: r.builtin === 1 });

export function makeTemplatesRepo(db: Db): TemplatesRepo {
  const insert =
    db.prepare(`INSERT INTO templates (id, name, description, graph_json, params_json, builtin, created_at, warnings_json)
    VALUES (@id, @name, @description, @graphJson, @paramsJson, @builtin, @createdAt, @warningsJson) ON CONFLICT (name) DO NOTHING`);
  // Built-ins are the code's: a newer daemon replaces their graph and parameters, never a user's template of that name.
  const putBuiltin =
    db.prepare(`INSERT INTO templates (id, name, description, graph_json, params_json, builtin, created_at)
    VALUES (@id, @name, @description, @graphJson, @paramsJson, 1, @createdAt)
    ON CONFLICT (name) DO UPDATE SET description = excluded.description, graph_json = excluded.graph_json, params_json = excluded.params_json
    WHERE templates.builtin = 1`);
  const find = db.prepare(`SELECT ${COLUMNS} FROM templates WHERE id = ? OR name = ?`);
  const list = db.prepare(`SELECT ${COLUMNS} FROM templates ORDER BY builtin DESC, name`);
  const del = db.prepare('DELETE FROM templates WHERE id = ? AND builtin = 0');
  return {
    async create(t) {
      return insert.run({ ...t, builtin: t.builtin ? 1 : 0, warningsJson: t.warningsJson ?? null }).changes > 0
        ? t
        : null;
    },
    async putBuiltin(t) {
      putBuiltin.run(t);
    },
    async find(idOrName) {
      const r = find.get(idOrName, idOrName) as Row | undefined;
      return r ? toTemplate(r) : null;
    },
    async list() {
      return (list.all() as Row[]).map(toTemplate);
    },
    async delete(id) {
      return del.run(id).changes > 0;
    },
  };
}
