//! Outages, lost consumer groups, and the GCRA oracle.

use super::helpers::*;

#[tokio::test]
async fn redis_down_is_unavailable_and_recovers() {
    let (mut server, store) = setup().await;
    let entry = ready(&store, "c-1", "off-17").await;
    server.kill();
    let err = store.now_ms().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let err = store
        .authorize(&entry, &DialLimits::official(OPEN), LEASE)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    server.restart();
    crate::support::eventually(Duration::from_secs(10), "store reconnects", || async {
        store.now_ms().await.ok()
    })
    .await;
    // Data survived (AOF) and scripts are reloaded on demand.
    assert!(matches!(
        store
            .authorize(&entry, &DialLimits::official(OPEN), LEASE)
            .await
            .unwrap(),
        Authorize::Granted { .. }
    ));
}

#[tokio::test]
async fn lost_consumer_groups_are_recreated() {
    let (server, store) = setup().await;
    let _: () = redis::cmd("FLUSHALL")
        .query_async(&mut raw(&server).await)
        .await
        .unwrap();
    // The ready stream is recreated by XADD without a group; nothing is lost.
    let entry = ready(&store, "c-1", "off-17").await;
    assert_eq!(entry.job.contact.as_str(), "c-1");
    store.submit("doc").await.unwrap();
    let got = store
        .read_intake("a", 10, Duration::from_millis(10), RECLAIM)
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
}

/// The Lua GCRA must decide exactly like `governor` and `Gcra::check` for the
/// same arrival times (the Redis clock the script saw).
#[tokio::test]
async fn lua_gcra_agrees_with_governor() {
    let (server, store) = setup().await;
    let period = Duration::from_millis(40);
    let burst = 3;
    let quota = Quota { burst, period };
    let mut trace = Vec::new();
    for i in 0..60u64 {
        let entry = ready_despite_backlog(&server, &store, &format!("c-{i}"), "off-17").await;
        let (verdict, now_us) = store
            .authorize_traced(&entry, &DialLimits::official(quota), LEASE)
            .await
            .unwrap();
        let granted = match verdict {
            Authorize::Granted { .. } => true,
            Authorize::Deferred { .. } => false,
            other => panic!("a fresh entry of an active campaign: {other:?}"),
        };
        trace.push((now_us, granted));
        tokio::time::sleep(Duration::from_millis((i * 7) % 23)).await;
    }
    assert!(trace.iter().any(|t| t.1) && trace.iter().any(|t| !t.1));

    let gcra = Gcra::new(quota);
    let clock = FakeRelativeClock::default();
    let limiter = RateLimiter::direct_with_clock(
        GQuota::with_period(period)
            .unwrap()
            .allow_burst(NonZeroU32::new(burst).unwrap()),
        clock.clone(),
    );
    let start = clock.now();
    let t0 = trace[0].0;
    let mut tat = None;
    for &(now_us, lua) in &trace {
        let offset = Duration::from_micros((now_us - t0) as u64);
        let elapsed = Duration::from_nanos(clock.now().duration_since(start).as_u64());
        clock.advance(offset - elapsed);
        let ours = gcra.check(tat, now_us);
        if let Ok(t) = ours {
            tat = Some(t);
        }
        assert_eq!(ours.is_ok(), lua, "Gcra::check at {now_us}us");
        assert_eq!(limiter.check().is_ok(), lua, "governor at {now_us}us");
    }
}
