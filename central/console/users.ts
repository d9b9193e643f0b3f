/**
 * Operator accounts: `users.json`, written by `bodycam central console-user add`, read at every
 * login (an account added or removed takes effect without a restart). Passwords are kept as scrypt
 * hashes (node's crypto.scrypt, N=2^15 r=8 p=1, 16-byte salt, 64-byte key), compared in constant
 * time. A login for an unknown name still runs scrypt, so the answer's timing does not tell which
 * names exist.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { readJsonIfExists, writeJsonAtomic } from '../../agent/lib/atomic.js';
import { BodycamError } from '../../agent/lib/errors.js';

export type Role = 'viewer' | 'supervisor' | 'admin';
export const ROLES: readonly Role[] = ['viewer', 'supervisor', 'admin'];
/** A role may do what every role before it may. */
export const roleAtLeast = (r: Role, min: Role): boolean => ROLES.indexOf(r) >= ROLES.indexOf(min);

export interface UserRecord {
  readonly name: string;
  readonly role: Role;
  /** `scrypt$N$r$p$<salt b64>$<key b64>` */
  readonly hash: string;
  readonly created: string;
}

interface UsersFile {
  format: 'bodycam-console-users/1';
  users: UserRecord[];
}

export const USER_NAME = /^[A-Za-z0-9_.@-]{1,64}$/;
const PARAMS = { N: 1 << 15, r: 8, p: 1, keylen: 64 };

function scrypt(password: string, salt: Buffer, o: { N: number; r: number; p: number; keylen: number }): Promise<Buffer> {
  const opts: ScryptOptions = { N: o.N, r: o.r, p: o.p, maxmem: 256 * o.N * o.r };
  return new Promise((resolve, reject) => scryptCb(password.normalize('NFC'), salt, o.keylen, opts, (e, k) => (e ? reject(e) : resolve(k))));
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, PARAMS);
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function checkPassword(password: string, hash: string): Promise<boolean> {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(hash);
  if (!m) return false;
  const want = Buffer.from(m[5]!, 'base64');
  const got = await scrypt(password, Buffer.from(m[4]!, 'base64'), { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]), keylen: want.length });
  return got.length === want.length && timingSafeEqual(got, want);
}

// A real hash, so that an unknown name costs the same scrypt as a known one.
let dummy: Promise<string> | undefined;

export class UserStore {
  constructor(readonly path: string) {}

  list(): UserRecord[] {
    const v = readJsonIfExists(this.path) as UsersFile | undefined;
    if (v === undefined) return [];
    if (v?.format !== 'bodycam-console-users/1' || !Array.isArray(v.users)) throw new BodycamError('CONFIG', `${this.path} is not a console users file`);
    return v.users.filter((u) => typeof u.name === 'string' && ROLES.includes(u.role) && typeof u.hash === 'string');
  }

  /** The account when name and password match; undefined otherwise (whichever was wrong). */
  async authenticate(name: string, password: string): Promise<UserRecord | undefined> {
    const u = this.list().find((x) => x.name === name);
    if (!u) {
      dummy ??= hashPassword('not a password');
      await checkPassword(password, await dummy);
      return undefined;
    }
    return (await checkPassword(password, u.hash)) ? u : undefined;
  }

  /** Adds or replaces an account (0600: the hashes are secrets too). */
  async put(name: string, role: Role, password: string): Promise<'added' | 'replaced'> {
    if (!USER_NAME.test(name)) throw new BodycamError('USAGE', `user name '${name}' must match ${USER_NAME.source}`);
    if (password.length < 8) throw new BodycamError('USAGE', 'the password must have at least 8 characters');
    const users = this.list();
    const i = users.findIndex((u) => u.name === name);
    const rec: UserRecord = { name, role, hash: await hashPassword(password), created: new Date().toISOString() };
    if (i >= 0) users[i] = rec;
    else users.push(rec);
    writeJsonAtomic(this.path, { format: 'bodycam-console-users/1', users } satisfies UsersFile, 0o600);
    return i >= 0 ? 'replaced' : 'added';
  }
}
