use super::*;

fn group(request_ids: &[&str]) -> QueuedGroup {
    QueuedGroup {
        shared: "{}".into(),
        received_ms: 1,
        targets: request_ids
            .iter()
            .map(|id| GroupTarget {
                request_id: (*id).into(),
                function_name: "f".into(),
                qualifier: String::new(),
                variant: format!("sub-{id}"),
            })
            .collect(),
        chain_depth: 0,
        trace: None,
    }
}

fn members(store: &Store) -> Vec<String> {
    store
        .due_events(i64::MAX, 10)
        .unwrap()
        .into_iter()
        .flat_map(|(_, queued)| match queued {
            Queued::Group(g) => g.targets.into_iter().map(|t| t.request_id).collect(),
            Queued::Event(e) => vec![e.request_id],
        })
        .collect()
}

#[test]
fn members_leave_their_group_and_the_count_follows() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.enqueue_groups(5, &[group(&["a", "b", "c"])]).unwrap();
    assert_eq!(store.queue_depth(), 3);
    let key = store.due_events(5, 1).unwrap().remove(0).0;

    store.remove_members(&key, &["a", "c"]).unwrap();
    assert_eq!(members(&store), ["b"]);
    assert_eq!(store.queue_depth(), 1);

    // Removing one already gone changes nothing; the last takes the group.
    store.remove_members(&key, &["a"]).unwrap();
    assert_eq!(store.queue_depth(), 1);
    store.remove_members(&key, &["b", "a"]).unwrap();
    assert!(members(&store).is_empty());
    assert_eq!(store.queue_depth(), 0);
    store.remove_members(&key, &["b"]).unwrap();
    assert_eq!(store.queue_depth(), 0);
}

#[test]
fn several_groups_are_queued_together() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .enqueue_groups(5, &[group(&["a", "b"]), group(&["c"])])
        .unwrap();
    assert_eq!(members(&store), ["a", "b", "c"]);
    assert_eq!(store.queue_depth(), 3);
    // The count is rebuilt from the queue when the store opens again.
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.queue_depth(), 3);
}

#[test]
fn an_undecodable_event_is_quarantined_and_the_rest_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let store = Store::open(&db).unwrap();
    // Garbage at the head of the queue (and a group that does not decode),
    // then a good group behind it.
    store
        .queue
        .insert(queue_key(1, 1), b"not json".as_slice())
        .unwrap();
    store
        .queue
        .insert(queue_key(2, 2), [&[GROUP_TAG][..], b"{"].concat())
        .unwrap();
    store.enqueue_groups(3, &[group(&["good"])]).unwrap();
    store.flush().unwrap();
    drop(store);

    // Opening counts it without failing; the scan sets both aside.
    let store = Store::open(&db).unwrap();
    assert_eq!(members(&store), ["good"]);
    let set_aside = store.quarantined().unwrap();
    assert_eq!(set_aside.len(), 2, "{set_aside:?}");
    assert!(set_aside.iter().all(|q| q.tree == "queue"));
    assert_eq!(set_aside[0].bytes, hex::encode(b"not json"));
    assert!(
        set_aside[0].error.contains("queue"),
        "{}",
        set_aside[0].error
    );
    // Gone from the queue: the next scan finds only the good one.
    assert_eq!(store.due_events(i64::MAX, 10).unwrap().len(), 1);
    assert_eq!(store.queue_depth(), 1);
}
