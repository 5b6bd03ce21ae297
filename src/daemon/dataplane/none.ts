/** The `none` dataplane: records the SA table (shown by `isakmp status`); the default. */
import type { IpsecSaInfo } from '../engine.js';
import type { Dataplane, DataplaneRecord } from './types.js';

export class NoneDataplane implements Dataplane {
  readonly name = 'none' as const;
  private readonly table = new Map<string, DataplaneRecord>();
  async install(sa: IpsecSaInfo): Promise<DataplaneRecord> {
    const r = { id: sa.id, connection: sa.connection, status: 'recorded' };
    this.table.set(sa.id, r);
    return r;
  }
  async remove(id: string): Promise<void> {
    this.table.delete(id);
  }
  records(): DataplaneRecord[] {
    return [...this.table.values()];
  }
  async flush(): Promise<void> {
    this.table.clear();
  }
}
