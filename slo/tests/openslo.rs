//! OpenSLO v1: Kura specs exported and imported back unchanged, realistic OpenSLO documents
//! imported, unsupported features refused with their place, and the generated OpenSLO for the
//! fulfillment service's SLOs held to a golden file (`KURA_BLESS=1` rewrites it).

use std::path::{Path, PathBuf};

use slo::generate::openslo;
use slo::import::{self, ImportError};
use slo::spec::{self, Spec};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the crate is in the workspace").to_path_buf()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Every spec the round trips must hold for: the service's own and the edge-case fixtures.
fn kura_specs() -> Vec<Spec> {
    let mut paths = vec![workspace().join("app/slos")];
    paths.push(fixture("specs"));
    spec::load_paths(&paths).unwrap_or_else(|d| panic!("specs load:\n{d}"))
}

fn without_source(mut s: Spec) -> Spec {
    s.source = PathBuf::new();
    s
}

#[test]
fn every_kura_spec_comes_back_unchanged_from_openslo() {
    let specs = kura_specs();
    assert!(specs.len() >= 3, "expected the fulfillment spec and the fixtures");
    for spec in specs {
        let text = openslo::generate(std::slice::from_ref(&spec)).unwrap_or_else(|e| panic!("{e}"));
        let back = import::openslo::import(Path::new("exported.yaml"), &text)
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", spec.source.display()));
        assert_eq!(back.len(), 1);
        assert_eq!(without_source(back.into_iter().next().unwrap()), without_source(spec));
    }
}
