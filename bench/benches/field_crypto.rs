//! Micro-benchmark: the per-contact cost of field encryption and blind indexing, against
//! serialising the same fields as plaintext (the baseline, measured in the same run).

use criterion::{Criterion, criterion_group, criterion_main};
use custodian_crypto::blind::BlindIndexer;
use custodian_crypto::envelope::DataKey;
use custodian_crypto::field::{FieldContext, encrypt_field};
use custodian_crypto::keys::KeyFile;
use custodian_crypto::random::SystemRandom;
use std::hint::black_box;

const FIELDS: [(&str, &str); 6] = [
    ("name", "王小明 Wang Xiaoming"),
    ("emails", "[\"wang.xiaoming@sinopec.example.cn\"]"),
    ("phones", "[\"+8613800138000\"]"),
    ("job_title", "Procurement Manager"),
    ("address", "88 Century Avenue, Pudong, Shanghai 200120"),
    (
        "notes",
        "Prefers calls after 3pm; quarterly review in March.",
    ),
];

fn contact_fields(c: &mut Criterion) {
    let rng = SystemRandom;
    let keys = KeyFile::generate(&rng).unwrap_or_else(|_| std::process::abort());
    let dek =
        DataKey::generate(uuid::Uuid::new_v4(), &rng).unwrap_or_else(|_| std::process::abort());
    let indexer = BlindIndexer::new(keys.primary_index());
    let row = uuid::Uuid::new_v4();
    let mut group = c.benchmark_group("one_contact");
    group.bench_function("baseline_plaintext_json", |b| {
        b.iter(|| {
            let map: serde_json::Map<String, serde_json::Value> = FIELDS
                .iter()
                .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String((*v).to_owned())))
                .collect();
            black_box(serde_json::to_vec(&map))
        })
    });
    group.bench_function("encrypt_6_fields_and_3_blind_indexes", |b| {
        b.iter(|| {
            for (column, value) in FIELDS {
                let ctx = FieldContext {
                    table: "contacts",
                    column,
                    row_id: row,
                };
                black_box(encrypt_field(&dek, &ctx, value.as_bytes(), &rng).ok());
            }
            for (column, value) in [
                ("email", "wang.xiaoming@sinopec.example.cn"),
                ("phone", "+8613800138000"),
                ("name", "xiaoming"),
            ] {
                black_box(
                    indexer
                        .truncated("contacts", column, value.as_bytes(), 18)
                        .ok(),
                );
            }
        })
    });
    group.finish();
}

criterion_group!(benches, contact_fields);
criterion_main!(benches);
