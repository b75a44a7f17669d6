/**
 * The RADIUS clients table: which source addresses may send accounting, and the shared secret of
 * each (RFC 2865 section 3: the secret belongs to the client, and RADIUS identifies the client by
 * its source IP address).
 *
 * An entry names one address (`192.0.2.10`, `2001:db8::10`) or a CIDR block (`10.20.0.0/16`,
 * `2001:db8:100::/48`), for BNG pools that send from many addresses with one secret. A source
 * matches the most specific entry (the longest prefix), so a host entry overrides its block. An
 * IPv4-mapped IPv6 source (`::ffff:192.0.2.10`, seen on dual-stack sockets) matches as IPv4.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { CommonErrors, fail } from '../../kernel/errors.js';
import { secretBytes, type SharedSecret } from './authenticator.js';

export interface RadiusClientConfig {
  /** The client's source address, or a CIDR block of them. */
  readonly address: string;
  /** The shared secret (text is taken as UTF-8). Never logged. */
  readonly secret: SharedSecret;
  /** A name for logs and metrics (`bng-fra-1`); the address when absent. */
  readonly name?: string;
}

/** A configured client, as the server uses it. */
export interface RadiusClient {
  readonly name: string;
  /** The entry as configured (address or CIDR). */
  readonly address: string;
  readonly secret: Uint8Array;
}

export interface RadiusClientTable {
  /** The client whose entry matches `sourceAddress` most specifically, or undefined. */
  lookup(sourceAddress: string): RadiusClient | undefined;
  readonly size: number;
}

interface ParsedAddress {
  readonly family: 4 | 6;
  readonly value: bigint;
}

interface Block {
  readonly family: 4 | 6;
  readonly prefixLength: number;
  /** The network address with host bits cleared. */
  readonly network: bigint;
  readonly client: RadiusClient;
}

/** Builds the table; throws `common.invalid_config` naming the entry for a bad or duplicate one. */
export function createClientTable(clients: readonly RadiusClientConfig[]): RadiusClientTable {
  const blocks: Block[] = [];
  const seen = new Set<string>();
  clients.forEach((config, index) => {
    const field = `radius.clients[${index}]`;
    const [addressText, prefixText, extra] = config.address.trim().split('/');
    const parsed = addressText === undefined ? undefined : parseAddress(addressText);
    if (parsed === undefined || extra !== undefined) {
      throw fail(CommonErrors.invalid_config, `"${config.address}" is not an IP address or CIDR block`, {
        field: `${field}.address`,
      });
    }
    const bits = parsed.family === 4 ? 32 : 128;
    const prefixLength = prefixText === undefined ? bits : Number(prefixText);
    if (prefixText !== undefined && (!/^\d{1,3}$/.test(prefixText) || prefixLength > bits)) {
      throw fail(CommonErrors.invalid_config, `"${config.address}" has a prefix length outside 0..${bits}`, {
        field: `${field}.address`,
      });
    }
    const secret = secretBytes(config.secret);
    if (secret.length === 0) {
      throw fail(CommonErrors.invalid_config, `the client "${config.address}" has an empty shared secret`, {
        field: `${field}.secret`,
      });
    }
    const network = maskOf(parsed.value, prefixLength, bits);
    const key = `${parsed.family}/${network.toString(16)}/${prefixLength}`;
    if (seen.has(key)) {
      throw fail(CommonErrors.invalid_config, `the client "${config.address}" is configured twice`, {
        field: `${field}.address`,
      });
    }
    seen.add(key);
    const name = config.name?.trim() || config.address.trim();
    blocks.push({
      family: parsed.family,
      prefixLength,
      network,
      client: Object.freeze({ name, address: config.address.trim(), secret: Uint8Array.from(secret) }),
    });
  });
  // Longest prefix first, so the first match is the most specific.
  blocks.sort((a, b) => b.prefixLength - a.prefixLength);
  return {
    size: blocks.length,
    lookup(sourceAddress: string): RadiusClient | undefined {
      const parsed = parseAddress(sourceAddress);
      if (parsed === undefined) return undefined;
      const bits = parsed.family === 4 ? 32 : 128;
      for (const block of blocks) {
        if (
          block.family === parsed.family &&
          maskOf(parsed.value, block.prefixLength, bits) === block.network
        ) {
          return block.client;
        }
      }
      return undefined;
    },
  };
}

function maskOf(value: bigint, prefixLength: number, bits: number): bigint {
  const hostBits = BigInt(bits - prefixLength);
  return (value >> hostBits) << hostBits;
}

/**
 * Parses an IPv4 or IPv6 address (an IPv6 zone `%eth0` is ignored) into its family and value.
 * IPv4-mapped IPv6 addresses become IPv4.
 */
export function parseAddress(text: string): ParsedAddress | undefined {
  const address = text.trim().replace(/%.*$/, '');
  if (isIPv4(address)) return { family: 4, value: ipv4Value(address) };
  if (!isIPv6(address)) return undefined;
  const value = ipv6Value(address);
  if (value === undefined) return undefined;
  // ::ffff:a.b.c.d is the IPv4 address a.b.c.d seen through a dual-stack socket.
  if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn };
  return { family: 6, value };
}

function ipv4Value(address: string): bigint {
  return address.split('.').reduce((sum, octet) => (sum << 8n) | BigInt(Number(octet)), 0n);
}

function ipv6Value(address: string): bigint | undefined {
  // Embedded IPv4 in the last 32 bits (::ffff:192.0.2.1, 64:ff9b::192.0.2.1) becomes two groups.
  let text = address;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    if (!isIPv4(tail)) return undefined;
    const v4 = ipv4Value(tail);
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const rest = halves.length === 2 ? (halves[1] === '' ? [] : halves[1]!.split(':')) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    value = (value << 16n) | BigInt(Number.parseInt(group, 16));
  }
  return value;
}
