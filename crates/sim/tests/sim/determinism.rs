//! The same seed serves the same bodies; a member does not depend on N.

use crate::helpers::{small, spawn};

#[tokio::test]
async fn same_seed_same_bodies_whatever_the_size() {
    let a = spawn(small(100)).await;
    let b = spawn(small(2_000)).await;
    let c = spawn(amsync_sim::SimConfig { seed: 43, ..small(100) }).await;
    let mut differs = 0;
    for i in (1..=100).step_by(3) {
        for suffix in ["", "/communities", "/security-groups"] {
            let path = format!("/members/M{i:06}{suffix}");
            let (ja, jb) = (a.get(&path).await.bytes().await.unwrap(), b.get(&path).await.bytes().await.unwrap());
            assert_eq!(ja, jb, "{path}");
            let (xa, xb) =
                (a.get_xml(&path).await.bytes().await.unwrap(), b.get_xml(&path).await.bytes().await.unwrap());
            assert_eq!(xa, xb, "{path} (xml)");
            if c.get(&path).await.bytes().await.unwrap() != ja {
                differs += 1;
            }
        }
    }
    assert!(differs > 30, "another seed gives other members");
    // The listing agrees too (keys and stamps), apart from the members only b has.
    let la = a.list_all("/members/changed", "changed").await;
    let lb: Vec<_> = b
        .list_all("/members/changed", "changed")
        .await
        .into_iter()
        .filter(|e| e["key"].as_str().unwrap() <= "M000100")
        .collect();
    assert_eq!(la, lb);
    assert_eq!(a.json("/_sim/events").await, b.json("/_sim/events").await);
}
