/**
 * A flat, typed-array digit trie for longest-prefix match of E.164 numbers.
 *
 * Layout. Nodes are blocks of 11 Int32 slots in one Int32Array, node n at offset n × 11:
 *
 * - slots 0-9, for digits 0-9: the child node (> 0), or, where the walk stops on that digit,
 *   the answer it stops with, encoded as -(answer + 2) (so ≤ -1). The walk stops on a digit when
 *   the node has no child for it (the answer is then the node's own) or when the child is a leaf,
 *   a node without children (the answer is the leaf's). Leaves are therefore never stored: their
 *   answer sits in their parent's slot. Node 0 is the root, the empty prefix, and nobody's child.
 * - slot 10: the node's answer, for a number that ends at this node: the longest prefix that ends
 *   at this node or above it, encoded zoneIndex × 32 + prefixLength, or -1 when there is none.
 *
 * With prefixes 49 → zone 0 and 4915 → zone 1, the path root -4-> a -9-> b -1-> c -5-> d has
 * answers a: -1, b: 0 × 32 + 2 = 2, c: 2 (inherited from b), d: 1 × 32 + 4 = 36. d is a leaf, so
 * it is not stored: c's slot for 5 holds -(36 + 2) = -38, and its other digit slots hold
 * -(2 + 2) = -4 (stop at c, answer 2). Looking up 4915112345 walks root, a, b, c, reads -38 in
 * c's slot 5 and answers 36: zone 1, 4 digits.
 *
 * Why answers in the slots. On a large table each node read is a cache miss, and the misses of
 * one walk form a chain (the next address comes from the last read). With the answer in the slot,
 * the slot that ends a walk is also its answer: no read of a separate answer slot, and no read of
 * the leaf at all, and leaves are about a third of the nodes (162k of 532k for 200k prefixes).
 *
 * Jump table. The first levels are the same for every lookup, but below them each level is one
 * dependent memory read. So the walk does not start at the root: `jump[v]`, for every value v of
 * the first J digits (J = 6 for large tables, 10^6 entries, 4 MB), holds the node reached by
 * walking those J digits (≥ 0), or, when the walk stops on or before the J-th digit, the answer
 * it stops with, encoded as in the slots, -(answer + 2). One read replaces the first J levels,
 * and for most numbers (whose longest prefix is at most J digits) it is the whole lookup. Numbers
 * shorter than J digits walk from the root.
 *
 * A lookup thus reads the jump table once, then one slot per digit beyond J until the walk
 * stops, and allocates nothing. Tables with long prefixes (10 digits and more) still pay a few
 * memory reads per lookup; see the benchmark (bench/tariff.ts) for what that costs.
 *
 * The caller passes normalised E.164 digits: no '+', no international access code ('00', '011'),
 * no national trunk prefix ('0'), no spaces. Normalising a dialled string needs the caller's
 * numbering plan, which this module does not know, so it does not guess.
 */

/**
 * The layout's numbers. A const enum, not `const`s, because TypeScript (tsc and esbuild alike)
 * writes a const enum member into the code as its literal, while V8 (Node 20) does not fold a
 * module-level `const` into optimised code: every use is a load and a check that the binding is
 * initialised. On the lookup's hot path that cost more than the arithmetic it feeds.
 */
const enum Layout {
  /** Slots per node: ten children and the answer. */
  STRIDE = 11,
  ANSWER = 10,
  /** Prefix lengths fit in 5 bits (at most 15 digits); the zone index is the rest of the answer. */
  LENGTH_BITS = 5,
  LENGTH_MASK = 31,
  /** Below every answer code (≥ -1): the walk has not stopped yet. */
  NOT_FOUND_YET = -2,
  MAX_DIGITS = 15,
}

/** The longest prefix accepted: E.164 numbers have at most 15 digits. */
export const MAX_PREFIX_DIGITS: number = Layout.MAX_DIGITS;

export interface PrefixTrie {
  /** Node blocks of 11 slots, see the module comment. Length nodeCount × 11. */
  readonly nodes: Int32Array;
  /** For each value of the first jumpDigits digits: the node reached, or -(answer + 2) when the walk stops earlier. */
  readonly jump: Int32Array;
  readonly jumpDigits: number;
  /** Stored nodes: the trie's nodes but its leaves (see the module comment). */
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
  let nodes = new Int32Array(capacity * Layout.STRIDE);
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
      const slot = node * Layout.STRIDE + digit;
      let next = nodes[slot] as number;
      if (next === 0) {
        if (nodeCount === capacity) {
          capacity *= 2;
          nodes = grow(nodes, capacity * Layout.STRIDE, 0);
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
  nodes[Layout.ANSWER] = -1;
  for (let node = 0; node < nodeCount; node++) {
    const base = node * Layout.STRIDE;
    const own = ownZone[node] as number;
    if (own >= 0) nodes[base + Layout.ANSWER] = own * (Layout.LENGTH_MASK + 1) + (depth[node] as number);
    const answer = nodes[base + Layout.ANSWER] as number;
    for (let digit = 0; digit < 10; digit++) {
      const child = nodes[base + digit] as number;
      if (child === 0) continue;
      depth[child] = (depth[node] as number) + 1;
      nodes[child * Layout.STRIDE + Layout.ANSWER] = answer;
    }
  }

  const jumpDigits = jumpDigitsFor(prefixes.length);
  const laidOut = layOut(nodes, nodeCount, jumpDigits);
  return {
    nodes: laidOut.nodes,
    jump: buildJumpTable(laidOut.nodes, jumpDigits),
    jumpDigits,
    nodeCount: laidOut.nodeCount,
    prefixCount: prefixes.length,
  };
}

/**
 * Renumbers the nodes, leaving out the leaves and writing every digit slot in its final form (see
 * the module comment), which also trims the spare capacity. The order is chosen for the cache:
 *
 * - first the top, every node down to depth J (jumpDigits), level by level. A lookup that goes
 *   past the jump table reads a node of depth J first, and with the 109k such nodes of a 200k
 *   table packed together (4.8 MB) instead of spread over all 16 MB, those reads fall on a
 *   quarter of the memory pages (fewer TLB misses) and more of them hit the caches: charging
 *   random numbers measured about 10% faster than with the whole trie depth first;
 * - then each subtree below a depth-J node, depth first (a node, then its subtrees in digit
 *   order), one after another. Insertion order scatters the nodes of one long prefix across the
 *   whole array, one cache miss per digit; in depth-first order a node's first child is the very
 *   next node and a chain of single children (the usual shape below the sixth digit) is one
 *   contiguous run of memory.
 */
function layOut(
  nodes: Int32Array,
  nodeCount: number,
  jumpDigits: number,
): { nodes: Int32Array; nodeCount: number } {
  const isLeaf = (node: number): boolean => {
    for (let digit = 0; digit < 10; digit++) if (nodes[node * Layout.STRIDE + digit] !== 0) return false;
    return true;
  };
  const newIndex = new Int32Array(nodeCount).fill(-1);
  let kept = 0;
  // The top: every stored node of depth ≤ jumpDigits, level by level.
  const queue = new Int32Array(nodeCount);
  const depthOf = new Uint8Array(nodeCount);
  let head = 0;
  let tail = 0;
  queue[tail++] = 0;
  while (head < tail) {
    const node = queue[head++] as number;
    newIndex[node] = kept++;
    if ((depthOf[node] as number) === jumpDigits) continue;
    for (let digit = 0; digit < 10; digit++) {
      const child = nodes[node * Layout.STRIDE + digit] as number;
      if (child === 0 || isLeaf(child)) continue;
      depthOf[child] = (depthOf[node] as number) + 1;
      queue[tail++] = child;
    }
  }
  // Below the top: each subtree under a node of depth jumpDigits, depth first, one after another.
  const stack = new Int32Array(nodeCount);
  for (let q = 0; q < tail; q++) {
    const top = queue[q] as number;
    if ((depthOf[top] as number) !== jumpDigits) continue;
    let size = 0;
    for (let digit = 9; digit >= 0; digit--) {
      const child = nodes[top * Layout.STRIDE + digit] as number;
      if (child !== 0 && !isLeaf(child)) stack[size++] = child;
    }
    while (size > 0) {
      const node = stack[--size] as number;
      newIndex[node] = kept++;
      // Push the children last digit first, so digit 0 is visited first.
      for (let digit = 9; digit >= 0; digit--) {
        const child = nodes[node * Layout.STRIDE + digit] as number;
        if (child !== 0 && !isLeaf(child)) stack[size++] = child;
      }
    }
  }
  const laidOut = new Int32Array(kept * Layout.STRIDE);
  for (let node = 0; node < nodeCount; node++) {
    const to = newIndex[node] as number;
    if (to < 0) continue;
    const from = node * Layout.STRIDE;
    const answer = nodes[from + Layout.ANSWER] as number;
    for (let digit = 0; digit < 10; digit++) {
      const child = nodes[from + digit] as number;
      let slot: number;
      if (child === 0) slot = -(answer + 2);
      else if ((newIndex[child] as number) < 0)
        slot = -((nodes[child * Layout.STRIDE + Layout.ANSWER] as number) + 2);
      else slot = newIndex[child] as number;
      laidOut[to * Layout.STRIDE + digit] = slot;
    }
    laidOut[to * Layout.STRIDE + Layout.ANSWER] = answer;
  }
  return { nodes: laidOut, nodeCount: kept };
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
 * jump[v] for every J-digit value v, filled by a depth-first walk of the top J levels. Where the
 * walk stops on a digit at depth d < J (its slot is an answer, ≤ -1), every value under that digit
 * stops there too: the 10^(J − d − 1) consecutive entries starting at (digits so far, that digit)
 * × 10^(J − d − 1) get the slot's value. Example with J = 3: node "4" has no child 2, so entries
 * 420 to 429 all hold its slot for 2, -(answer of "4" + 2).
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
      const slot = nodes[node * Layout.STRIDE + digit] as number;
      const next = value * 10 + digit;
      if (slot < 0) jump.fill(slot, next * span, (next + 1) * span);
      else fill(slot, depth + 1, next);
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
    const slot = nodes[node * Layout.STRIDE + digit] as number;
    if (slot < 0) return decode(-slot - 2, out);
    node = slot;
  }
  return decode(nodes[node * Layout.STRIDE + Layout.ANSWER] as number, out);
}

/**
 * longestPrefix for a called number that must be 1 to 15 ASCII digits as a whole: returns false,
 * leaving `out` as it was, when it is not, else writes the match into `out` and returns true.
 * Each character is read once, by the walk or after it stops, which is why this is one function
 * and not a check followed by longestPrefix: for a 12-digit number, reading the characters a
 * second time cost about as much as the rest of the lookup.
 */
export function matchCalledNumber(trie: PrefixTrie, digits: string, out: PrefixMatch): boolean {
  const n = digits.length;
  if (n === 0 || n > Layout.MAX_DIGITS) return false;
  const nodes = trie.nodes;
  const jumpDigits = trie.jumpDigits;
  let node = 0;
  let i = 0;
  // The walk's answer; NOT_FOUND_YET until the walk stops.
  let code: number = Layout.NOT_FOUND_YET;
  if (n >= jumpDigits) {
    let value = 0;
    for (; i < jumpDigits; i++) {
      const digit = digits.charCodeAt(i) - 48;
      if (digit >>> 0 > 9) return false;
      value = value * 10 + digit;
    }
    const entry = trie.jump[value] as number;
    if (entry < 0) code = -entry - 2;
    else node = entry;
  }
  if (code === Layout.NOT_FOUND_YET) {
    for (; i < n; i++) {
      const digit = digits.charCodeAt(i) - 48;
      if (digit >>> 0 > 9) return false;
      const slot = nodes[node * Layout.STRIDE + digit] as number;
      if (slot < 0) {
        code = -slot - 2;
        i++;
        break;
      }
      node = slot;
    }
    if (code === Layout.NOT_FOUND_YET) code = nodes[node * Layout.STRIDE + Layout.ANSWER] as number;
  }
  // The characters after the one the walk stopped on must be digits too.
  for (; i < n; i++) if ((digits.charCodeAt(i) - 48) >>> 0 > 9) return false;
  decode(code, out);
  return true;
}

function decode(code: number, out: PrefixMatch): PrefixMatch {
  if (code < 0) {
    out.zone = -1;
    out.length = 0;
  } else {
    out.zone = code >> Layout.LENGTH_BITS;
    out.length = code & Layout.LENGTH_MASK;
  }
  return out;
}

function grow(array: Int32Array<ArrayBuffer>, length: number, fill: number): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(length);
  bigger.set(array);
  if (fill !== 0) bigger.fill(fill, array.length);
  return bigger;
}
