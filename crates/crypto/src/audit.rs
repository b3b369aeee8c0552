//! Tamper evidence for the audit log: leaf, node and chain hashes with domain separation, an
//! RFC 6962 Merkle tree kept as a compact frontier, inclusion proofs (RFC 9162 §2.1.3), and
//! Ed25519 signatures over checkpoints (tree size, root, chain head, time).
//!
//! Every hash is SHA-256 with a one-byte prefix, so no value of one kind can be passed off as
//! another: `0x00` leaf, `0x01` interior node (both as RFC 6962), `0x02` chain link.

use aws_lc_rs::digest::{Context, SHA256};
use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine;
use zeroize::Zeroizing;

use crate::CryptoError;
use crate::random::SecureRandom;

/// A SHA-256 value.
pub type Hash = [u8; 32];

const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;
const CHAIN_PREFIX: u8 = 0x02;

/// The chain value before the first event.
pub const CHAIN_START: Hash = [0; 32];

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut context = Context::new(&SHA256);
    for part in parts {
        context.update(part);
    }
    let mut out = [0; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

/// Plain SHA-256 (the baseline the verify benchmark compares with).
#[must_use]
pub fn plain_sha256(bytes: &[u8]) -> Hash {
    sha256(&[bytes])
}

/// The hash of one event's canonical bytes.
#[must_use]
pub fn leaf_hash(canonical: &[u8]) -> Hash {
    sha256(&[&[LEAF_PREFIX], canonical])
}

/// The hash of an interior node.
#[must_use]
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[NODE_PREFIX], left, right])
}

/// The next link of the hash chain: the previous link and this event's leaf hash.
#[must_use]
pub fn chain_hash(previous: &Hash, leaf: &Hash) -> Hash {
    sha256(&[&[CHAIN_PREFIX], previous, leaf])
}

/// The root of the empty tree (RFC 6962: the hash of the empty string).
#[must_use]
pub fn empty_root() -> Hash {
    sha256(&[])
}

/// The right edge of a Merkle tree: the roots of the perfect subtrees its size decomposes
/// into, largest first. Enough to append leaves and to compute the root, in O(log n) space.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

impl Frontier {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut size = self.size;
        while size & 1 == 1 {
            // `size` odd: the last subtree is as large as the one being completed.
            if let Some(left) = self.nodes.pop() {
                hash = node_hash(&left, &hash);
            }
            size >>= 1;
        }
        self.nodes.push(hash);
        self.size += 1;
    }

    /// The RFC 6962 Merkle tree hash of the leaves pushed so far.
    #[must_use]
    pub fn root(&self) -> Hash {
        let mut subtrees = self.nodes.iter().rev();
        let Some(smallest) = subtrees.next() else {
            return empty_root();
        };
        subtrees.fold(*smallest, |right, left| node_hash(left, &right))
    }

    /// The root of the frontier's perfect subtree of `2^level` leaves, if it has one.
    #[must_use]
    pub fn node_at_level(&self, level: u32) -> Option<Hash> {
        if level >= u64::BITS || self.size >> level & 1 == 0 {
            return None;
        }
        // Largest first: one node per set bit above this one comes before it.
        let larger = self.size.checked_shr(level + 1).unwrap_or(0).count_ones() as usize;
        self.nodes.get(larger).copied()
    }

    /// Size (8 bytes, big-endian) then the subtree roots.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.nodes.len() * 32);
        out.extend_from_slice(&self.size.to_be_bytes());
        for node in &self.nodes {
            out.extend_from_slice(node);
        }
        out
    }

    /// # Errors
    /// [`CryptoError::InvalidArgument`] when the bytes are not a frontier of the size they
    /// claim (one subtree root per set bit of the size).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let malformed = || CryptoError::InvalidArgument("malformed Merkle frontier");
        let (size, rest) = bytes.split_first_chunk::<8>().ok_or_else(malformed)?;
        let size = u64::from_be_bytes(*size);
        if rest.len() != size.count_ones() as usize * 32 {
            return Err(malformed());
        }
        let nodes = rest
            .chunks_exact(32)
            .map(|chunk| {
                let mut node = [0; 32];
                node.copy_from_slice(chunk);
                node
            })
            .collect();
        Ok(Self { size, nodes })
    }
}

/// The RFC 6962 Merkle tree hash of `leaves`.
#[must_use]
pub fn merkle_root(leaves: &[Hash]) -> Hash {
    let mut frontier = Frontier::new();
    for leaf in leaves {
        frontier.push(*leaf);
    }
    frontier.root()
}

/// The largest power of two smaller than `n` (n ≥ 2).
fn split_point(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The audit path of leaf `index` in the tree of `leaves` (RFC 6962 §2.1.1 PATH), nearest
/// sibling first. Empty when the index is outside the tree.
#[must_use]
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Vec<Hash> {
    let mut path = Vec::new();
    if index < leaves.len() {
        collect_path(leaves, index, &mut path);
    }
    path
}

fn collect_path(leaves: &[Hash], index: usize, path: &mut Vec<Hash>) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split_point(leaves.len());
    let (left, right) = leaves.split_at(k);
    if index < k {
        collect_path(left, index, path);
        path.push(merkle_root(right));
    } else {
        collect_path(right, index - k, path);
        path.push(merkle_root(left));
    }
}

/// Every level of an RFC 6962 tree, leaves first: many audit paths at O(log n) each (a lone
/// right node moves up unchanged, which gives the same tree as the recursive definition).
///
/// The tree may lack a prefix of its leaves (pruned below a signed checkpoint): the prefix's
/// frontier stands in for it, because every node an audit path of a later leaf needs is either
/// built from later leaves or is one of the frontier's perfect subtrees.
#[derive(Debug, Clone)]
pub struct MerkleLevels {
    /// Per level, leaves first: the index of its first node kept, and the nodes from there on.
    levels: Vec<(u64, Vec<Hash>)>,
    /// Leaves before the first one given.
    pruned: u64,
    /// The root when no leaf after the prefix was given.
    prefix_root: Hash,
}

impl MerkleLevels {
    #[must_use]
    pub fn build(leaves: Vec<Hash>) -> Self {
        Self::build_after(&Frontier::new(), leaves)
    }

    /// The tree of the prefix `prefix` stands for, followed by `leaves`.
    #[must_use]
    pub fn build_after(prefix: &Frontier, leaves: Vec<Hash>) -> Self {
        let pruned = prefix.size();
        let mut width = pruned + leaves.len() as u64;
        let mut levels = Vec::new();
        if !leaves.is_empty() {
            // Each level starts at an even index, so its pairs are the tree's pairs: at the
            // prefix's own subtree of that height when the prefix has one, else at the node
            // holding the first leaf given.
            let mut level = 0u32;
            let mut nodes = Vec::with_capacity(leaves.len() + 1);
            nodes.extend(prefix.node_at_level(level));
            nodes.extend(leaves);
            let mut base = (pruned >> level) & !1;
            while width > 1 {
                let next: Vec<Hash> = nodes
                    .chunks(2)
                    .map(|pair| match pair {
                        [left, right] => node_hash(left, right),
                        [lone] => *lone,
                        _ => empty_root(),
                    })
                    .collect();
                levels.push((base, nodes));
                level += 1;
                width = width.div_ceil(2);
                let subtree = prefix.node_at_level(level);
                nodes = Vec::with_capacity(next.len() + 1);
                nodes.extend(subtree);
                nodes.extend(next);
                base = (pruned >> level) & !1;
            }
            levels.push((base, nodes));
        }
        Self {
            levels,
            pruned,
            prefix_root: prefix.root(),
        }
    }

    #[must_use]
    pub fn root(&self) -> Hash {
        self.levels
            .last()
            .and_then(|(_, l)| l.first())
            .copied()
            .unwrap_or(self.prefix_root)
    }

    /// Leaves before the first one given (pruned).
    #[must_use]
    pub fn pruned(&self) -> u64 {
        self.pruned
    }

    /// The audit path of leaf `index`, nearest sibling first (empty when out of range or in
    /// the pruned prefix).
    #[must_use]
    pub fn path(&self, index: usize) -> Vec<Hash> {
        let mut path = Vec::new();
        let index = index as u64;
        let in_range = self
            .levels
            .first()
            .is_some_and(|(base, l)| index >= self.pruned && index < base + l.len() as u64);
        if !in_range {
            return path;
        }
        let mut i = index;
        for (base, level) in &self.levels[..self.levels.len() - 1] {
            let sibling = (i ^ 1)
                .checked_sub(*base)
                .and_then(|at| usize::try_from(at).ok());
            if let Some(node) = sibling.and_then(|at| level.get(at)) {
                path.push(*node);
            }
            i >>= 1;
        }
        path
    }
}

/// Checks an audit path (RFC 9162 §2.1.3.2).
#[must_use]
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> bool {
    if index >= tree_size {
        return false;
    }
    let (mut f, mut s) = (index, tree_size - 1);
    let mut hash = *leaf;
    for sibling in proof {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            hash = node_hash(sibling, &hash);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            hash = node_hash(&hash, sibling);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && hash == *root
}

/// What a checkpoint commits to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointBody {
    pub tree_size: u64,
    pub root: Hash,
    /// The chain link of the last event in the tree.
    pub chain: Hash,
    /// Unix milliseconds.
    pub signed_at: i64,
}

impl CheckpointBody {
    /// The exact bytes signed: a short text, one field per line, so a person can read what a
    /// signature covers.
    #[must_use]
    pub fn message(&self) -> String {
        format!(
            "custodian audit checkpoint v1\nsize {}\nroot {}\nchain {}\ntime {}\n",
            self.tree_size,
            hex(&self.root),
            hex(&self.chain),
            self.signed_at
        )
    }
}

/// Lower-case hexadecimal.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Parses lower- or upper-case hexadecimal of exactly `N` bytes.
#[must_use]
pub fn from_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.as_bytes();
    if text.len() != N * 2 {
        return None;
    }
    let mut out = [0; N];
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let digit = |c: u8| char::from(c).to_digit(16);
        *byte = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()?;
    }
    Some(out)
}

const KEY_FILE_HEADER: &str = "custodian audit signing key v1";
const SEED_LEN: usize = 32;

/// The Ed25519 key that signs audit checkpoints: its own key, apart from the data keys, so it
/// can be kept, rotated and published (the public half) on its own.
pub struct AuditSigningKey {
    pair: Ed25519KeyPair,
    seed: Zeroizing<[u8; SEED_LEN]>,
}

impl std::fmt::Debug for AuditSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditSigningKey")
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}

impl AuditSigningKey {
    /// # Errors
    /// [`CryptoError::Random`] when no randomness is available.
    pub fn generate(rng: &dyn SecureRandom) -> Result<Self, CryptoError> {
        let mut seed = Zeroizing::new([0; SEED_LEN]);
        rng.fill(seed.as_mut())?;
        Self::from_seed(seed)
    }

    fn from_seed(seed: Zeroizing<[u8; SEED_LEN]>) -> Result<Self, CryptoError> {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed.as_ref()).map_err(|_| {
            CryptoError::KeyFile("the audit signing key is not an Ed25519 seed".into())
        })?;
        Ok(Self { pair, seed })
    }

    /// The key file's text: a header line and the base64 seed.
    #[must_use]
    pub fn to_text(&self) -> Zeroizing<String> {
        let encoded =
            Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(self.seed.as_ref()));
        Zeroizing::new(format!("{KEY_FILE_HEADER}\n{}\n", encoded.as_str()))
    }

    /// # Errors
    /// [`CryptoError::KeyFile`] naming what is wrong with the text.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        if lines.next() != Some(KEY_FILE_HEADER) {
            return Err(CryptoError::KeyFile(format!(
                "the audit signing key file must start with `{KEY_FILE_HEADER}`"
            )));
        }
        let bad = || CryptoError::KeyFile("the audit signing key is not 32 bytes of base64".into());
        let encoded = lines.next().ok_or_else(bad)?;
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| bad())?,
        );
        let mut seed = Zeroizing::new([0; SEED_LEN]);
        if bytes.len() != SEED_LEN {
            return Err(bad());
        }
        seed.copy_from_slice(&bytes);
        Self::from_seed(seed)
    }

    #[must_use]
    pub fn public_key(&self) -> [u8; 32] {
        let mut out = [0; 32];
        out.copy_from_slice(self.pair.public_key().as_ref());
        out
    }

    /// A short name for the public key (16 hex digits of its SHA-256), stored with each
    /// checkpoint so a verifier knows which key signed it.
    #[must_use]
    pub fn key_id(&self) -> String {
        key_id(&self.public_key())
    }

    /// Signs a checkpoint.
    #[must_use]
    pub fn sign(&self, body: &CheckpointBody) -> [u8; 64] {
        let mut out = [0; 64];
        out.copy_from_slice(self.pair.sign(body.message().as_bytes()).as_ref());
        out
    }
}

/// The short name of a public key.
#[must_use]
pub fn key_id(public_key: &[u8; 32]) -> String {
    hex(&plain_sha256(public_key)[..8])
}

/// Whether `signature` is the key's signature over the checkpoint.
#[must_use]
pub fn verify_checkpoint(public_key: &[u8; 32], body: &CheckpointBody, signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(body.message().as_bytes(), signature)
        .is_ok()
}

#[cfg(test)]
mod tests {

    #[test]
    fn level_paths_equal_the_recursive_paths() {
        for n in 1..40usize {
            let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&[i as u8])).collect();
            let levels = MerkleLevels::build(leaves.clone());
            assert_eq!(levels.root(), merkle_root(&leaves), "root of {n}");
            for index in 0..n {
                assert_eq!(
                    levels.path(index),
                    inclusion_proof(&leaves, index),
                    "{index} of {n}"
                );
            }
            assert!(levels.path(n).is_empty());
        }
    }

    #[test]
    fn paths_after_a_pruned_prefix_equal_the_full_trees_paths() {
        for n in 1..40usize {
            let all: Vec<Hash> = (0..n).map(|i| leaf_hash(&[i as u8, 7])).collect();
            for pruned in 0..=n {
                let mut prefix = Frontier::new();
                for leaf in &all[..pruned] {
                    prefix.push(*leaf);
                }
                let levels = MerkleLevels::build_after(&prefix, all[pruned..].to_vec());
                assert_eq!(
                    levels.root(),
                    merkle_root(&all),
                    "root of {n} after {pruned}"
                );
                for index in 0..n {
                    let expected = if index < pruned {
                        Vec::new()
                    } else {
                        inclusion_proof(&all, index)
                    };
                    assert_eq!(
                        levels.path(index),
                        expected,
                        "{index} of {n} after {pruned}"
                    );
                }
                assert!(levels.path(n).is_empty());
            }
        }
    }

    use super::*;
    use crate::random::DeterministicRandom;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// RFC 6962's definition, recursively, as the reference for the frontier.
    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split_point(n);
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    #[test]
    fn hashes_are_domain_separated() {
        let a = [7u8; 32];
        let b = [9u8; 32];
        let mut joined = a.to_vec();
        joined.extend_from_slice(&b);
        // The same 64 bytes as a leaf, a node and a chain link give three different hashes.
        let as_leaf = leaf_hash(&joined);
        assert_ne!(as_leaf, node_hash(&a, &b));
        assert_ne!(node_hash(&a, &b), chain_hash(&a, &b));
        assert_ne!(as_leaf, chain_hash(&a, &b));
    }

    #[test]
    fn empty_tree_root_is_the_hash_of_nothing() {
        // RFC 6962 test vector: SHA-256("").
        assert_eq!(
            hex(&empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // Leaf of the empty string, from the RFC 6962 / Certificate Transparency test data.
        assert_eq!(
            hex(&leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn frontier_root_matches_the_recursive_definition_for_every_size() {
        let all = leaves(70);
        let mut frontier = Frontier::new();
        assert_eq!(frontier.root(), reference_root(&[]));
        for (i, leaf) in all.iter().enumerate() {
            frontier.push(*leaf);
            assert_eq!(frontier.size(), i as u64 + 1);
            assert_eq!(
                frontier.root(),
                reference_root(&all[..=i]),
                "size {}",
                i + 1
            );
            let again = Frontier::from_bytes(&frontier.to_bytes()).unwrap();
            assert_eq!(again, frontier);
        }
    }

    #[test]
    fn malformed_frontiers_are_refused() {
        let mut frontier = Frontier::new();
        for leaf in leaves(5) {
            frontier.push(leaf);
        }
        let bytes = frontier.to_bytes();
        assert!(Frontier::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        assert!(Frontier::from_bytes(&bytes[..7]).is_err());
        // Size 5 keeps two subtree roots; a size of 7 would need three.
        let mut wrong_size = bytes.clone();
        wrong_size[7] = 7;
        assert!(Frontier::from_bytes(&wrong_size).is_err());
    }

    #[test]
    fn every_inclusion_proof_verifies_and_a_wrong_one_does_not() {
        for size in 1..=33 {
            let all = leaves(size);
            let root = merkle_root(&all);
            for index in 0..size {
                let proof = inclusion_proof(&all, index);
                assert!(
                    verify_inclusion(&all[index], index as u64, size as u64, &proof, &root),
                    "leaf {index} of {size}"
                );
                // Another leaf, another position or another tree: refused. (The tree size is
                // bound by the signed checkpoint, not by the path.)
                let other = leaf_hash(b"not in the tree");
                assert!(!verify_inclusion(
                    &other,
                    index as u64,
                    size as u64,
                    &proof,
                    &root
                ));
                let bigger = merkle_root(&leaves(size + 1));
                assert!(!verify_inclusion(
                    &all[index],
                    index as u64,
                    size as u64 + 1,
                    &proof,
                    &bigger
                ));
                assert!(!verify_inclusion(
                    &all[index],
                    size as u64,
                    size as u64,
                    &proof,
                    &root
                ));
                if size > 1 {
                    let moved = (index + 1) % size;
                    assert!(!verify_inclusion(
                        &all[index],
                        moved as u64,
                        size as u64,
                        &proof,
                        &root
                    ));
                }
            }
        }
    }

    #[test]
    fn checkpoints_verify_under_their_key_only() {
        let rng = DeterministicRandom::new(3);
        let key = AuditSigningKey::generate(&rng).unwrap();
        let other = AuditSigningKey::generate(&rng).unwrap();
        let body = CheckpointBody {
            tree_size: 12,
            root: [1; 32],
            chain: [2; 32],
            signed_at: 1_700_000_000_000,
        };
        let signature = key.sign(&body);
        assert!(verify_checkpoint(&key.public_key(), &body, &signature));
        assert!(!verify_checkpoint(&other.public_key(), &body, &signature));
        let forged = CheckpointBody {
            tree_size: 11,
            ..body.clone()
        };
        assert!(!verify_checkpoint(&key.public_key(), &forged, &signature));
        assert_ne!(key.key_id(), other.key_id());
        assert_eq!(key.key_id().len(), 16);
    }

    #[test]
    fn the_key_file_round_trips_and_bad_files_are_named() {
        let key = AuditSigningKey::generate(&DeterministicRandom::new(4)).unwrap();
        let again = AuditSigningKey::parse(&key.to_text()).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        assert!(
            !format!("{key:?}").contains(&key.to_text()[KEY_FILE_HEADER.len()..].trim().to_owned())
        );
        for bad in [
            "",
            "something else\nAAAA",
            "custodian audit signing key v1\nnot base64!",
            "custodian audit signing key v1\nAAAA",
        ] {
            let err = AuditSigningKey::parse(bad).unwrap_err().to_string();
            assert!(err.contains("audit signing key"), "{err}");
        }
    }

    #[test]
    fn hex_round_trips() {
        let bytes: [u8; 4] = [0, 0xab, 0x10, 0xff];
        assert_eq!(hex(&bytes), "00ab10ff");
        assert_eq!(from_hex::<4>("00ab10ff"), Some(bytes));
        assert_eq!(from_hex::<4>("00AB10FF"), Some(bytes));
        assert_eq!(from_hex::<4>("00ab10f"), None);
        assert_eq!(from_hex::<4>("00ab10fg"), None);
    }
}
