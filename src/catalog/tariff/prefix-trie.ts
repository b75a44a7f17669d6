/**
 * A flat, typed-array digit trie for longest-prefix match of E.164 numbers.
 *
 * Layout. Nodes are packed one after another in one Int32Array and named by their offset in it;
 * node 0 is the root, the empty prefix. A node is two header words followed by its stored slots:
 *
 * - word 0, the digit map: bit d is set when the node stores a slot for digit d;
 * - word 1, the node's answer, for a number that ends at this node: the longest prefix that ends
 *   at this node or above it, encoded zoneIndex × 32 + prefixLength, or -1 when there is none;
 * - then one word per set bit of the digit map, in digit order: the child node's offset (> 0),
 *   or, where the walk stops on that digit, the answer it stops with, encoded as -(answer + 2)
 *   (so ≤ -1). The slot of digit d is word 2 + (the number of set bits below bit d).
 *
 * The walk stops on a digit when the node has no child for it (the answer is then the node's
 * own) or when the child is a leaf, a node without children (the answer is the leaf's). Leaves
 * are therefore never stored: their answer sits in their parent's slot. A digit with no child
 * stores no slot at all: its bit is clear, and the walk stops with the node's answer (word 1).
 *
 * With prefixes 49 → zone 0 and 4915 → zone 1, the path root -4-> a -9-> b -1-> c -5-> d has
 * answers a: -1, b: 0 × 32 + 2 = 2, c: 2 (inherited from b), d: 1 × 32 + 4 = 36. d is a leaf, so
 * it is not stored: c is [1 << 5, 2, -(36 + 2)], the digit map naming digit 5 only. Looking up
 * 4915112345 walks root, a, b, c, finds bit 5 set in c's map, reads -38 in c's first slot and
 * answers 36: zone 1, 4 digits. Looking up 4916 reaches c, finds bit 6 clear and answers c's
 * own 2: zone 0, 2 digits.
 *
 * Why so compact. On a large table the lookup's cost is its cache misses, and how often a read
 * misses depends on how much memory the nodes the lookups touch take up. Most nodes of a real
 * table have one or two children (below the sixth digit, a chain of single children is the usual
 * shape), so a block of all ten digit slots was mostly the same "stop here" value repeated: 44
 * bytes for what 12 bytes say. Packed, the 200k-prefix benchmark table's nodes take 5 MB instead
 * of 16 MB, and random lookups measured about three times faster, since the nodes the lookups
 * touch now largely fit in the caches. Counting the set bits below a digit is a few register
 * operations (rankBelow), far cheaper than the cache miss it saves.
 *
 * Why answers in the slots. The misses of one walk form a chain (the next address comes from the
 * last read). With the answer in the slot, the slot that ends a walk is also its answer: no read
 * of a separate answer word, and no read of the leaf at all, and leaves are about a third of the
 * nodes (162k of 532k for 200k prefixes).
 *
 * Jump table. The first levels are the same for every lookup, but below them each level is one
 * dependent memory read. So the walk does not start at the root: `jump[v]`, for every value v of
 * the first J digits (J = 6 for large tables, 10^6 entries, 4 MB), holds the node reached by
 * walking those J digits (≥ 0), or, when the walk stops on or before the J-th digit, the answer
 * it stops with, encoded as in the slots, -(answer + 2). One read replaces the first J levels,
 * and for most numbers (whose longest prefix is at most J digits) it is the whole lookup. Numbers
 * shorter than J digits walk from the root.
 *
 * A lookup thus reads the jump table once, then one node per digit beyond J until the walk stops
 * (its header and the slot are almost always in one cache line), and allocates nothing. Tables
 * with long prefixes (10 digits and more) still pay a few memory reads per lookup; see the
 * benchmark (bench/tariff.ts) for what that costs.
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
  /** Slots per node while building: ten children and the answer. */
  STRIDE = 11,
  ANSWER = 10,
  /** Packed nodes: the digit map, the answer, then the stored slots. */
  MAP = 0,
  OWN_ANSWER = 1,
  SLOTS = 2,
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
  /** The packed nodes, each named by its offset: digit map, answer, stored slots (see the module comment). */
  readonly nodes: Int32Array;
  /** For each value of the first jumpDigits digits: the node (offset) reached, or -(answer + 2) when the walk stops earlier. */
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
  const packed = pack(nodes, nodeCount, jumpDigits);
  return {
    nodes: packed.nodes,
    jump: buildJumpTable(packed.nodes, jumpDigits),
    jumpDigits,
    nodeCount: packed.nodeCount,
    prefixCount: prefixes.length,
  };
}

/**
 * Packs the nodes (see the module comment), leaving out the leaves and writing every digit slot
 * in its final form. `nodes` are the build's blocks of 11 slots (children by build index, 0 for
 * none, and the answer). The order is chosen for the cache:
 *
 * - first the top, every node down to depth J (jumpDigits), level by level. A lookup that goes
 *   past the jump table reads a node of depth J first, and with the 109k such nodes of a 200k
 *   table packed together instead of spread over the whole array, those reads fall on fewer
 *   memory pages (fewer TLB misses) and more of them hit the caches: charging random numbers
 *   measured about 10% faster than with the whole trie depth first;
 * - then each subtree below a depth-J node, depth first (a node, then its subtrees in digit
 *   order), one after another. Insertion order scatters the nodes of one long prefix across the
 *   whole array, one cache miss per digit; in depth-first order a node's first child is the very
 *   next node and a chain of single children (the usual shape below the sixth digit) is one
 *   contiguous run of memory, several nodes to a cache line.
 */
function pack(
  nodes: Int32Array,
  nodeCount: number,
  jumpDigits: number,
): { nodes: Int32Array; nodeCount: number } {
  const isLeaf = (node: number): boolean => {
    for (let digit = 0; digit < 10; digit++) if (nodes[node * Layout.STRIDE + digit] !== 0) return false;
    return true;
  };
  // The order: order[k] is the build index of the k-th packed node.
  const order = new Int32Array(nodeCount);
  let kept = 0;
  // The top: every stored node of depth ≤ jumpDigits, level by level.
  const queue = new Int32Array(nodeCount);
  const depthOf = new Uint8Array(nodeCount);
  let head = 0;
  let tail = 0;
  queue[tail++] = 0;
  while (head < tail) {
    const node = queue[head++] as number;
    order[kept++] = node;
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
      order[kept++] = node;
      // Push the children last digit first, so digit 0 is visited first.
      for (let digit = 9; digit >= 0; digit--) {
        const child = nodes[node * Layout.STRIDE + digit] as number;
        if (child !== 0 && !isLeaf(child)) stack[size++] = child;
      }
    }
  }
  // Offsets: each node takes its two header words and one word per digit that has a child (a
  // stored node or a leaf); a digit without a child stores nothing.
  const offsetOf = new Int32Array(nodeCount).fill(-1);
  let words = 0;
  for (let k = 0; k < kept; k++) {
    const node = order[k] as number;
    offsetOf[node] = words;
    words += Layout.SLOTS;
    for (let digit = 0; digit < 10; digit++) if (nodes[node * Layout.STRIDE + digit] !== 0) words++;
  }
  const packed = new Int32Array(words);
  for (let k = 0; k < kept; k++) {
    const node = order[k] as number;
    const from = node * Layout.STRIDE;
    const to = offsetOf[node] as number;
    let map = 0;
    let slot = to + Layout.SLOTS;
    for (let digit = 0; digit < 10; digit++) {
      const child = nodes[from + digit] as number;
      if (child === 0) continue;
      map |= 1 << digit;
      // A leaf is not stored: its parent's slot holds its answer (always its own prefix's).
      const offset = offsetOf[child] as number;
      packed[slot++] = offset >= 0 ? offset : -((nodes[child * Layout.STRIDE + Layout.ANSWER] as number) + 2);
    }
    packed[to + Layout.MAP] = map;
    packed[to + Layout.OWN_ANSWER] = nodes[from + Layout.ANSWER] as number;
  }
  return { nodes: packed, nodeCount: kept };
}

/**
 * The number of set bits of `map` below bit `digit` (map has at most 10 bits): the index of the
 * digit's slot among the node's stored slots. Counted in registers, two bits, then four, then
 * eight at a time, rather than read from a table: a table is one more memory read per level.
 */
function rankBelow(map: number, digit: number): number {
  let x = map & ((1 << digit) - 1);
  x -= (x >> 1) & 0x155;
  x = (x & 0x133) + ((x >> 2) & 0x133);
  x = (x + (x >> 4)) & 0x10f;
  return (x + (x >> 8)) & 0x1f;
}

/**
 * The slot of `digit` in packed node `node`: a child's offset (≥ 0) or -(answer + 2) where the
 * walk stops, which for a digit without a child is the node's own answer.
 */
function slotOf(nodes: Int32Array, node: number, digit: number): number {
  const map = nodes[node + Layout.MAP] as number;
  if (((map >> digit) & 1) === 0) return -((nodes[node + Layout.OWN_ANSWER] as number) + 2);
  return nodes[node + Layout.SLOTS + rankBelow(map, digit)] as number;
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
      const slot = slotOf(nodes, node, digit);
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
    const slot = slotOf(nodes, node, digit);
    if (slot < 0) return decode(-slot - 2, out);
    node = slot;
  }
  return decode(nodes[node + Layout.OWN_ANSWER] as number, out);
}

/**
 * longestPrefix of `numbers[0]` to `numbers[count − 1]` at once, into zone[k] and length[k] (as
 * PrefixMatch has them: zone -1 and length 0 for no match), with read[k] the number of leading
 * characters the walk read, all of them digits: a caller that must know whether a whole number
 * is digits checks only the rest. `entry` is scratch, at least `count` long.
 *
 * Why in a batch. A lookup's cost is its cache misses, one in the jump table and one per node
 * below it, each a chain: the next address comes from the last read. Looked up one by one, the
 * processor cannot start the next number's reads before the branches that depend on this
 * number's reads are resolved (a mispredicted one discards everything after it). So the batch
 * reads every number's jump entry first, in a loop whose branches do not depend on what it reads:
 * those reads overlap, many in flight at a time. Only then does each number continue its walk
 * from its entry, and for most numbers the entry is already the answer.
 */
export function longestPrefixBatch(
  trie: PrefixTrie,
  numbers: readonly string[],
  count: number,
  zone: Int32Array,
  length: Int32Array,
  read: Int32Array,
  entry: Int32Array,
): void {
  const jumpDigits = trie.jumpDigits;
  const jump = trie.jump;
  const nodes = trie.nodes;
  // Pass 1: the jump entries. read[k] is -1 for a number whose first J characters are not all
  // digits (or that is shorter): it walks from the root in pass 2.
  for (let k = 0; k < count; k++) {
    const digits = numbers[k] as string;
    let value = 0;
    let i = 0;
    if (digits.length >= jumpDigits) {
      for (; i < jumpDigits; i++) {
        const digit = digits.charCodeAt(i) - 48;
        if (digit >>> 0 > 9) break;
        value = value * 10 + digit;
      }
    }
    if (i === jumpDigits) {
      entry[k] = jump[value] as number;
      read[k] = jumpDigits;
    } else {
      read[k] = -1;
    }
  }
  // Pass 2: each number's walk from its entry.
  for (let k = 0; k < count; k++) {
    const digits = numbers[k] as string;
    const n = digits.length;
    let node = 0;
    let i = read[k] as number;
    let code: number = Layout.NOT_FOUND_YET;
    if (i < 0) {
      i = 0;
    } else {
      const value = entry[k] as number;
      if (value < 0) code = -value - 2;
      else node = value;
    }
    if (code === Layout.NOT_FOUND_YET) {
      for (; i < n; i++) {
        const digit = digits.charCodeAt(i) - 48;
        if (digit >>> 0 > 9) break;
        const slot = slotOf(nodes, node, digit);
        if (slot < 0) {
          code = -slot - 2;
          i++;
          break;
        }
        node = slot;
      }
      if (code === Layout.NOT_FOUND_YET) code = nodes[node + Layout.OWN_ANSWER] as number;
    }
    if (code < 0) {
      zone[k] = -1;
      length[k] = 0;
    } else {
      zone[k] = code >> Layout.LENGTH_BITS;
      length[k] = code & Layout.LENGTH_MASK;
    }
    read[k] = i;
  }
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
      const slot = slotOf(nodes, node, digit);
      if (slot < 0) {
        code = -slot - 2;
        i++;
        break;
      }
      node = slot;
    }
    if (code === Layout.NOT_FOUND_YET) code = nodes[node + Layout.OWN_ANSWER] as number;
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
