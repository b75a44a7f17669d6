/**
 * A flat, typed-array digit trie for longest-prefix match of E.164 numbers.
 *
 * Layout. Nodes are blocks of 11 Int32 slots in one Int32Array, node n at offset n × 11:
 *
 * - slots 0-9: the child node for digits 0-9, or 0 for none (node 0 is the root, the empty
 *   prefix, and is nobody's child, so 0 is free to mean "none");
 * - slot 10: the answer for a number whose walk ends at this node: the longest prefix that ends
 *   at this node or above it, encoded zoneIndex × 32 + prefixLength, or -1 when there is none.
 *
 * With prefixes 49 → zone 0 and 4915 → zone 1, the path root -4-> a -9-> b -1-> c -5-> d has
 * answers a: -1, b: 0 × 32 + 2 = 2, c: 2 (inherited from b), d: 1 × 32 + 4 = 36. Looking up
 * 4915112345 walks root, a, b, c, d, stops at d's missing child for '1', and answers 36: zone 1,
 * 4 digits.
 *
 * Jump table. The first levels are the same for every lookup, but below them each level is one
 * dependent memory read, and for a table of 200k prefixes the deep levels are not in any cache:
 * a walk of ten levels costs several main-memory latencies. So the walk does not start at the
 * root: `jump[v]`, for every value v of the first J digits (J = 6 for large tables, 10^6 entries,
 * 4 MB), holds the node reached by walking those J digits (≥ 0), or, when the walk stops before
 * J digits, the answer of the node where it stops, encoded as -(answer + 2) (answer ≥ -1, so the
 * entry is ≤ -1 and cannot be mistaken for a node). One read replaces the first J levels, and
 * for most numbers (whose longest prefix is at most J digits) it is the whole lookup. Numbers
 * shorter than J digits walk from the root.
 *
 * A lookup thus reads the jump table once, then one node per digit beyond J, and allocates
 * nothing. Tables with long prefixes (10 digits and more) still pay a few memory reads per
 * lookup; see the benchmark (bench/tariff.ts) for what that costs.
 *
 * The caller passes normalised E.164 digits: no '+', no international access code ('00', '011'),
 * no national trunk prefix ('0'), no spaces. Normalising a dialled string needs the caller's
 * numbering plan, which this module does not know, so it does not guess.
 */

/** The longest prefix accepted: E.164 numbers have at most 15 digits. */
export const MAX_PREFIX_DIGITS = 15;

/** Slots per node: ten children and the inherited answer. */
const STRIDE = 11;
const ANSWER = 10;
/** Prefix lengths fit in 5 bits (at most 15 digits); the zone index is the rest of the answer. */
const LENGTH_BITS = 5;
const LENGTH_MASK = (1 << LENGTH_BITS) - 1;

export interface PrefixTrie {
  /** Node blocks of 11 slots, see the module comment. Length nodeCount × 11. */
  readonly nodes: Int32Array;
  /** For each value of the first jumpDigits digits: the node reached, or -(answer + 2) when the walk stops earlier. */
  readonly jump: Int32Array;
  readonly jumpDigits: number;
  readonly nodeCount: number;
  readonly prefixCount: number;
}

/** The result of a lookup; reuse one object on a hot path (see `longestPrefix`). */
export interface PrefixMatch {
  /** Zone index of the longest matching prefix, -1 when no prefix matches. */
  zone: number;
  /** Digits of the number the matching prefix covers (its length), 0 when none matches. */
  length: number;
}

/** A prefix inserted twice, reported by `buildPrefixTrie` (validation reports it with paths first). */
export interface PrefixConflict {
  readonly prefix: string;
  /** Entry index of the first occurrence and of the repeat. */
  readonly firstIndex: number;
  readonly index: number;
}

/**
 * Builds the trie in one pass over the entries, then fills in the inherited answers and the jump
 * table. `zoneIndexOf(i)` gives the zone index of entry i. Every prefix must be 1 to 15 ASCII
 * digits (validation guarantees it; anything else throws a RangeError here, since it is a
 * programming error by then). When a prefix repeats, the first entry wins and the repeat is
 * passed to `onConflict`; compileTariff never gets that far because validation refuses repeats.
 */
export function buildPrefixTrie(
  prefixes: readonly string[],
  zoneIndexOf: (entryIndex: number) => number,
  onConflict?: (conflict: PrefixConflict) => void,
): PrefixTrie {
  // Start with room for about four nodes per prefix and double when full: real tables share most
  // of their leading digits, so the worst case (one node per digit) would waste most of its memory.
  let capacity = Math.max(64, prefixes.length * 4);
  let nodes = new Int32Array(capacity * STRIDE);
  // The zone of the prefix ending exactly at each node (-1 for none) and which entry put it there.
  let ownZone = new Int32Array(capacity).fill(-1);
  let entryOf = new Int32Array(capacity);
  let nodeCount = 1;

  for (let entry = 0; entry < prefixes.length; entry++) {
    const prefix = prefixes[entry] as string;
    if (prefix.length === 0 || prefix.length > MAX_PREFIX_DIGITS) {
      throw new RangeError(`prefix ${entry} must have 1 to 15 digits, got ${JSON.stringify(prefix)}`);
    }
    let node = 0;
    for (let i = 0; i < prefix.length; i++) {
      const digit = prefix.charCodeAt(i) - 48;
      if (digit >>> 0 > 9) throw new RangeError(`prefix ${JSON.stringify(prefix)} has a non-digit`);
      const slot = node * STRIDE + digit;
      let next = nodes[slot] as number;
      if (next === 0) {
        if (nodeCount === capacity) {
          capacity *= 2;
          nodes = grow(nodes, capacity * STRIDE, 0);
          ownZone = grow(ownZone, capacity, -1);
          entryOf = grow(entryOf, capacity, 0);
        }
        next = nodeCount++;
        nodes[slot] = next;
      }
      node = next;
    }
    if ((ownZone[node] as number) >= 0) {
      onConflict?.({ prefix, firstIndex: entryOf[node] as number, index: entry });
      continue;
    }
    ownZone[node] = zoneIndexOf(entry);
    entryOf[node] = entry;
  }

  // Inherited answers. A child is always created after its parent, so visiting nodes in index
  // order visits every parent first: each node hands its answer (and depth) to its children, and
  // a node that ends a prefix replaces what it inherited with its own.
  const depth = new Uint8Array(nodeCount);
  nodes[ANSWER] = -1;
  for (let node = 0; node < nodeCount; node++) {
    const base = node * STRIDE;
    const own = ownZone[node] as number;
    if (own >= 0) nodes[base + ANSWER] = own * (LENGTH_MASK + 1) + (depth[node] as number);
    const answer = nodes[base + ANSWER] as number;
    for (let digit = 0; digit < 10; digit++) {
      const child = nodes[base + digit] as number;
      if (child === 0) continue;
      depth[child] = (depth[node] as number) + 1;
      nodes[child * STRIDE + ANSWER] = answer;
    }
  }

  const laidOut = depthFirstLayout(nodes, nodeCount);
  const jumpDigits = jumpDigitsFor(prefixes.length);
  return {
    nodes: laidOut,
    jump: buildJumpTable(laidOut, jumpDigits),
    jumpDigits,
    nodeCount,
    prefixCount: prefixes.length,
  };
}

/**
 * Renumbers the nodes in depth-first order (a node, then its subtrees in digit order), which
 * also trims the spare capacity. Insertion order scatters the nodes of one long prefix across
 * the whole array, one cache miss (and often a TLB miss) per digit; in depth-first order a
 * node's first child is the very next node, a chain of single children (the usual shape below
 * the sixth digit) is one contiguous run of memory, and each subtree is one block.
 */
function depthFirstLayout(nodes: Int32Array, nodeCount: number): Int32Array {
  const newIndex = new Int32Array(nodeCount);
  const stack = new Int32Array(nodeCount);
  let top = 0;
  let next = 0;
  stack[top++] = 0;
  while (top > 0) {
    const node = stack[--top] as number;
    newIndex[node] = next++;
    // Push the children last digit first, so digit 0 is visited first.
    for (let digit = 9; digit >= 0; digit--) {
      const child = nodes[node * STRIDE + digit] as number;
      if (child !== 0) stack[top++] = child;
    }
  }
  const laidOut = new Int32Array(nodeCount * STRIDE);
  for (let node = 0; node < nodeCount; node++) {
    const from = node * STRIDE;
    const to = (newIndex[node] as number) * STRIDE;
    for (let digit = 0; digit < 10; digit++) {
      const child = nodes[from + digit] as number;
      laidOut[to + digit] = child === 0 ? 0 : (newIndex[child] as number);
    }
    laidOut[to + ANSWER] = nodes[from + ANSWER] as number;
  }
  return laidOut;
}

/**
 * J for a table: about one jump entry per prefix, at least 2 and at most 6 digits. 200k prefixes
 * get 6 digits (10^6 entries, 4 MB); a table of 500 prefixes gets 3 (1000 entries, 4 kB).
 */
function jumpDigitsFor(prefixCount: number): number {
  let digits = 2;
  while (digits < 6 && 10 ** digits < prefixCount) digits++;
  return digits;
}

/**
 * jump[v] for every J-digit value v, filled by a depth-first walk of the top J levels. Where a
 * node at depth d < J lacks the child for a digit, every value under that digit stops at that
 * node: the 10^(J − d − 1) consecutive entries starting at (digits so far, that digit) × 10^(J − d − 1)
 * get -(answer of that node + 2). Example with J = 3: node "4" lacks child 2, so entries 420 to
 * 429 stop at "4" and hold its answer.
 */
function buildJumpTable(nodes: Int32Array, jumpDigits: number): Int32Array {
  const jump = new Int32Array(10 ** jumpDigits);
  const fill = (node: number, depth: number, value: number): void => {
    if (depth === jumpDigits) {
      jump[value] = node;
      return;
    }
    const span = 10 ** (jumpDigits - depth - 1);
    for (let digit = 0; digit < 10; digit++) {
      const child = nodes[node * STRIDE + digit] as number;
      const next = value * 10 + digit;
      if (child === 0)
        jump.fill(-((nodes[node * STRIDE + ANSWER] as number) + 2), next * span, (next + 1) * span);
      else fill(child, depth + 1, next);
    }
  };
  fill(0, 0, 0);
  return jump;
}

/**
 * Longest-prefix match of `digits` (normalised E.164 digits, see the module comment). Writes the
 * zone index and the matched length into `out` and returns it. Pass a reused `out` on a hot path
 * and nothing is allocated; without one, a new object is returned.
 *
 * The walk stops at the first character that is not an ASCII digit, as if the number ended there;
 * callers that accept numbers from outside check them first (chargeCall does).
 */
export function longestPrefix(
  trie: PrefixTrie,
  digits: string,
  out: PrefixMatch = { zone: -1, length: 0 },
): PrefixMatch {
  const nodes = trie.nodes;
  const n = digits.length;
  const jumpDigits = trie.jumpDigits;
  let node = 0;
  let i = 0;
  if (n >= jumpDigits) {
    // The value of the first J digits: "491511" → 491511.
    let value = 0;
    for (; i < jumpDigits; i++) {
      const digit = digits.charCodeAt(i) - 48;
      // One unsigned comparison rejects both sides: a character below '0' wraps to a huge number.
      if (digit >>> 0 > 9) break;
      value = value * 10 + digit;
    }
    if (i === jumpDigits) {
      const entry = trie.jump[value] as number;
      if (entry < 0) return decode(-entry - 2, out);
      node = entry;
    } else {
      i = 0; // a non-digit within the first J characters: walk from the root, which stops there
    }
  }
  for (; i < n; i++) {
    const digit = digits.charCodeAt(i) - 48;
    if (digit >>> 0 > 9) break;
    const next = nodes[node * STRIDE + digit] as number;
    if (next === 0) break;
    node = next;
  }
  return answer(nodes, node, out);
}

function answer(nodes: Int32Array, node: number, out: PrefixMatch): PrefixMatch {
  return decode(nodes[node * STRIDE + ANSWER] as number, out);
}

function decode(code: number, out: PrefixMatch): PrefixMatch {
  if (code < 0) {
    out.zone = -1;
    out.length = 0;
  } else {
    out.zone = code >> LENGTH_BITS;
    out.length = code & LENGTH_MASK;
  }
  return out;
}

function grow(array: Int32Array<ArrayBuffer>, length: number, fill: number): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(length);
  bigger.set(array);
  if (fill !== 0) bigger.fill(fill, array.length);
  return bigger;
}
