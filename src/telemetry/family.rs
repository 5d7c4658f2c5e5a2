//! Lock-free metric families (atomics only) and their Prometheus text
//! rendering. Relaxed ordering is enough: each value is independent and a
//! scrape only needs every increment to show up eventually.

use std::fmt::Write;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use super::labels::{DeclaredLabel, Label};

fn zeros(n: usize) -> Box<[AtomicU64]> {
    (0..n).map(|_| AtomicU64::new(0)).collect()
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    // INVARIANT: fmt::Write for String never fails (here and below).
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A counter without labels.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
    pub(super) fn render(&self, out: &mut String, name: &str, help: &str) {
        header(out, name, "counter", help);
        let _ = writeln!(out, "{name} {}", self.get());
    }
}

/// A counter with one label; every value is rendered, zeros included, so
/// rates work from the first scrape.
#[derive(Debug)]
pub struct CounterVec<L: Label> {
    values: Box<[AtomicU64]>,
    _label: PhantomData<L>,
}

impl<L: Label> Default for CounterVec<L> {
    fn default() -> Self {
        Self {
            values: zeros(L::all().len()),
            _label: PhantomData,
        }
    }
}

impl<L: Label> CounterVec<L> {
    pub fn add(&self, label: L, n: u64) {
        self.values[label.index()].fetch_add(n, Relaxed);
    }
    pub fn get(&self, label: L) -> u64 {
        self.values[label.index()].load(Relaxed)
    }
    pub(super) fn render(&self, out: &mut String, name: &str, help: &str) {
        header(out, name, "counter", help);
        for l in L::all() {
            let _ = writeln!(
                out,
                "{name}{{{}=\"{}\"}} {}",
                L::KEY,
                l.as_str(),
                self.get(*l)
            );
        }
    }
}

/// A counter with two labels (every combination is rendered).
#[derive(Debug)]
pub struct CounterVec2<A: Label, B: Label> {
    values: Box<[AtomicU64]>,
    _labels: PhantomData<(A, B)>,
}

impl<A: Label, B: Label> Default for CounterVec2<A, B> {
    fn default() -> Self {
        Self {
            values: zeros(A::all().len() * B::all().len()),
            _labels: PhantomData,
        }
    }
}

impl<A: Label, B: Label> CounterVec2<A, B> {
    fn slot(a: A, b: B) -> usize {
        a.index() * B::all().len() + b.index()
    }
    pub fn add(&self, a: A, b: B, n: u64) {
        self.values[Self::slot(a, b)].fetch_add(n, Relaxed);
    }
    pub fn get(&self, a: A, b: B) -> u64 {
        self.values[Self::slot(a, b)].load(Relaxed)
    }
    pub(super) fn render(&self, out: &mut String, name: &str, help: &str) {
        header(out, name, "counter", help);
        for a in A::all() {
            for b in B::all() {
                let _ = writeln!(
                    out,
                    "{name}{{{}=\"{}\",{}=\"{}\"}} {}",
                    A::KEY,
                    a.as_str(),
                    B::KEY,
                    b.as_str(),
                    self.get(*a, *b)
                );
            }
        }
    }
}

/// One label of a [`BoundedCounterVec2`]: its values are fixed when the
/// family is built, as slots `0..slots()` rendered in that order.
pub trait Axis {
    /// What a series is picked by: a [`Label`] enum, or a `str` for a
    /// [`DeclaredLabel`].
    type Value: ?Sized;
    /// The label name in the exposition.
    fn key(&self) -> &'static str;
    fn slots(&self) -> usize;
    /// The slot `value` counts in.
    fn slot(&self, value: &Self::Value) -> usize;
    /// The label value of `slot`.
    fn value(&self, slot: usize) -> &str;
}

/// Every value of a closed [`Label`] set, as an [`Axis`].
#[derive(Debug)]
pub struct Closed<L: Label>(PhantomData<L>);

impl<L: Label> Default for Closed<L> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<L: Label> Axis for Closed<L> {
    type Value = L;
    fn key(&self) -> &'static str {
        L::KEY
    }
    fn slots(&self) -> usize {
        L::all().len()
    }
    fn slot(&self, value: &L) -> usize {
        value.index()
    }
    fn value(&self, slot: usize) -> &str {
        L::all()[slot].as_str()
    }
}

impl Axis for DeclaredLabel {
    type Value = str;
    fn key(&self) -> &'static str {
        DeclaredLabel::key(self)
    }
    fn slots(&self) -> usize {
        DeclaredLabel::slots(self)
    }
    fn slot(&self, value: &str) -> usize {
        DeclaredLabel::slot(self, value)
    }
    fn value(&self, slot: usize) -> &str {
        DeclaredLabel::value(self, slot)
    }
}

/// A counter with two labels whose values are fixed when it is built (either
/// may be a [`DeclaredLabel`]): every combination is rendered, zeros
/// included, in slot order, so the output is stable and rates work from the
/// first scrape.
#[derive(Debug)]
pub struct BoundedCounterVec2<A: Axis, B: Axis> {
    a: A,
    b: B,
    values: Box<[AtomicU64]>,
}

impl<A: Axis, B: Axis> BoundedCounterVec2<A, B> {
    pub fn new(a: A, b: B) -> Self {
        let values = zeros(a.slots() * b.slots());
        Self { a, b, values }
    }
    fn index(&self, a: &A::Value, b: &B::Value) -> usize {
        self.a.slot(a) * self.b.slots() + self.b.slot(b)
    }
    pub fn add(&self, a: &A::Value, b: &B::Value, n: u64) {
        self.values[self.index(a, b)].fetch_add(n, Relaxed);
    }
    /// The count of the series `a` and `b` fall in (`other`'s for values
    /// not declared).
    pub fn get(&self, a: &A::Value, b: &B::Value) -> u64 {
        self.values[self.index(a, b)].load(Relaxed)
    }
    pub(super) fn render(&self, out: &mut String, name: &str, help: &str) {
        header(out, name, "counter", help);
        let (a_key, b_key) = (self.a.key(), self.b.key());
        for i in 0..self.a.slots() {
            let a = escaped(self.a.value(i));
            for j in 0..self.b.slots() {
                let b = escaped(self.b.value(j));
                let n = self.values[i * self.b.slots() + j].load(Relaxed);
                let _ = writeln!(out, "{name}{{{a_key}=\"{a}\",{b_key}=\"{b}\"}} {n}");
            }
        }
    }
}

/// A label value as the text format wants it: `\`, `"` and newlines escaped.
/// Declared values come from the settings and the dialplans, whose checks
/// are theirs to change; escaping here keeps the exposition valid whatever
/// they let through.
fn escaped(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.contains(['\\', '"', '\n']) {
        return value.into();
    }
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .into()
}

/// A gauge without labels.
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    pub fn add(&self, n: i64) {
        self.0.fetch_add(n, Relaxed);
    }
    pub fn set(&self, n: i64) {
        self.0.store(n, Relaxed);
    }
    pub fn get(&self) -> i64 {
        self.0.load(Relaxed)
    }
    pub(super) fn render(&self, out: &mut String, name: &str, help: &str) {
        header(out, name, "gauge", help);
        let _ = writeln!(out, "{name} {}", self.get());
    }
}

/// Upper bounds (seconds) for request latencies: a provider waits ~15 s
/// for a webhook, and we want resolution where healthy requests land.
pub const LATENCY_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A latency histogram per label value, in seconds.
#[derive(Debug)]
pub struct HistogramVec<L: Label> {
    /// Per label: one non-cumulative count per bucket, then one for +Inf.
    counts: Box<[AtomicU64]>,
    /// Per label: the sum of observations in microseconds (integer, so it
    /// can be an atomic; a microsecond is far below what we measure).
    sums_us: Box<[AtomicU64]>,
    _label: PhantomData<L>,
}

impl<L: Label> Default for HistogramVec<L> {
    fn default() -> Self {
        Self {
            counts: zeros(L::all().len() * (LATENCY_BUCKETS.len() + 1)),
            sums_us: zeros(L::all().len()),
            _label: PhantomData,
        }
    }
}

impl<L: Label> HistogramVec<L> {
    pub fn observe(&self, label: L, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|le| secs <= *le)
            .unwrap_or(LATENCY_BUCKETS.len());
        let row = label.index() * (LATENCY_BUCKETS.len() + 1);
        self.counts[row + bucket].fetch_add(1, Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sums_us[label.index()].fetch_add(micros, Relaxed);
    }

    /// Observations recorded for `label`.
    pub fn count(&self, label: L) -> u64 {
        self.row(label).iter().map(|c| c.load(Relaxed)).sum()
    }

    fn row(&self, label: L) -> &[AtomicU64] {
        let width = LATENCY_BUCKETS.len() + 1;
        &self.counts[label.index() * width..(label.index() + 1) * width]
    }

    pub(super) fn render(&self, out: &mut String, name: &str, help: &str) {
        header(out, name, "histogram", help);
        for l in L::all() {
            let (key, value) = (L::KEY, l.as_str());
            // Cumulate from one read of each bucket so `+Inf` equals `_count`
            // even while other threads keep observing.
            let mut total = 0;
            for (i, c) in self.row(*l).iter().enumerate() {
                total += c.load(Relaxed);
                let le = LATENCY_BUCKETS
                    .get(i)
                    .map_or_else(|| "+Inf".to_owned(), f64::to_string);
                let _ = writeln!(
                    out,
                    "{name}_bucket{{{key}=\"{value}\",le=\"{le}\"}} {total}"
                );
            }
            let sum = self.sums_us[l.index()].load(Relaxed) as f64 / 1e6;
            let _ = writeln!(out, "{name}_sum{{{key}=\"{value}\"}} {sum}");
            let _ = writeln!(out, "{name}_count{{{key}=\"{value}\"}} {total}");
        }
    }
}
