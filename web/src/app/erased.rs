//! Loads and actions behind one non-generic core each (bundle size).
//!
//! Leptos compiles its resource and action machinery (async derived
//! signals, the spawned future, its signals) once per value and future type:
//! with a resource or action per call, that was about a quarter of the wasm.
//! Here every load is one `LocalResource<Loaded>` and every action one
//! `Action<(), Option<ApiError>>`, each built by a non-generic function; the
//! typed [`Loader`] and [`Job`] are thin shims that box the future and
//! downcast the value, so call sites keep their types.

use std::{any::Any, cell::RefCell, future::Future, marker::PhantomData, pin::Pin, rc::Rc, sync::Arc};

use leptos::prelude::*;

use super::api::ApiError;

/// A loaded value, of the type its [`Loader`] knows.
type Loaded = Arc<dyn Any + Send + Sync>;

/// A future, boxed so that one type serves every load or action.
type Boxed<T> = Pin<Box<dyn Future<Output = T>>>;

/// The one resource type: it runs a boxed fetcher.
fn erased_resource(fetch: Rc<dyn Fn() -> Boxed<Loaded>>) -> LocalResource<Loaded> {
    LocalResource::new(move || fetch())
}

/// Data loaded in the browser, reloaded on [`Loader::refetch`] and when the
/// signals its fetcher reads change; read inside `<Suspense>`/`<Transition>`.
pub struct Loader<T> {
    inner: LocalResource<Loaded>,
    kind: PhantomData<fn() -> T>,
}

impl<T> Clone for Loader<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Loader<T> {}

impl<T: Clone + Send + Sync + 'static> Loader<T> {
    /// Loads with `fetch`, now and again when what it reads changes.
    pub fn new<Fut>(fetch: impl Fn() -> Fut + 'static) -> Self
    where
        Fut: Future<Output = T> + 'static,
    {
        let fetch = move || -> Boxed<Loaded> {
            let loading = fetch();
            Box::pin(async move { Arc::new(loading.await) as Loaded })
        };
        Self { inner: erased_resource(Rc::new(fetch)), kind: PhantomData }
    }

    /// The value once loaded, tracked.
    pub fn get(&self) -> Option<T> {
        self.with(|value| value.cloned())
    }

    /// The value once loaded, untracked.
    pub fn get_untracked(&self) -> Option<T> {
        self.inner.try_get_untracked().flatten().and_then(|value| value.downcast_ref::<T>().cloned())
    }

    /// `f` of the value once loaded, tracked.
    pub fn with<U>(&self, f: impl FnOnce(Option<&T>) -> U) -> U {
        let value = self.inner.try_get().flatten();
        f(value.as_ref().and_then(|value| value.downcast_ref::<T>()))
    }

    /// Changes the loaded value here (`None`: not loaded), as if loaded.
    pub fn update(&self, f: impl FnOnce(&mut Option<T>)) {
        self.inner.try_update(|value| {
            let mut typed = value.as_ref().and_then(|value| value.downcast_ref::<T>()).cloned();
            f(&mut typed);
            *value = typed.map(|typed| Arc::new(typed) as Loaded);
        });
    }

    /// Loads again.
    pub fn refetch(&self) {
        self.inner.refetch();
    }
}

/// What an action's future answers, as the form shows it: its error, if any.
pub trait Outcome {
    fn error(self) -> Option<ApiError>;
}

impl Outcome for () {
    fn error(self) -> Option<ApiError> {
        None
    }
}

impl<T> Outcome for Result<T, ApiError> {
    fn error(self) -> Option<ApiError> {
        self.err()
    }
}

thread_local! {
    /// The future of the job being dispatched, handed to the core action
    /// (which calls its function synchronously in `dispatch`).
    static DISPATCHED: RefCell<Option<Boxed<Option<ApiError>>>> = const { RefCell::new(None) };
}

/// The one action type: it runs the future it is handed.
fn erased_action() -> Action<(), Option<ApiError>> {
    Action::new_local(|_: &()| -> Boxed<Option<ApiError>> {
        DISPATCHED.take().unwrap_or_else(|| Box::pin(async { None }))
    })
}

/// Runs `job` on `core`.
fn run(core: Action<(), Option<ApiError>>, job: Boxed<Option<ApiError>>) {
    DISPATCHED.set(Some(job));
    core.dispatch(());
}

/// An action: a change sent when dispatched, with its pending state and the
/// error of its latest run.
pub struct Job<I> {
    core: Action<(), Option<ApiError>>,
    /// `Box<dyn Fn(&I) -> Boxed<Option<ApiError>>>`.
    make: StoredValue<Rc<dyn Any>, LocalStorage>,
    input: PhantomData<fn(I)>,
}

impl<I> Clone for Job<I> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I> Copy for Job<I> {}

/// How a job makes its future from its input.
type Make<I> = Box<dyn Fn(&I) -> Boxed<Option<ApiError>>>;

impl<I: 'static> Job<I> {
    /// An action running `f`'s future for each dispatched input.
    pub fn new<Fut>(f: impl Fn(&I) -> Fut + 'static) -> Self
    where
        Fut: Future + 'static,
        Fut::Output: Outcome,
    {
        let make: Make<I> = Box::new(move |input| {
            let running = f(input);
            Box::pin(async move { running.await.error() })
        });
        Self { core: erased_action(), make: StoredValue::new_local(Rc::new(make)), input: PhantomData }
    }

    /// Starts a run with `input`.
    pub fn dispatch(&self, input: I) {
        // Like `Action::dispatch`, nothing happens once the owner is gone.
        let job = self.make.try_with_value(|make| make.downcast_ref::<Make<I>>().map(|make| make(&input))).flatten();
        if let Some(job) = job {
            run(self.core, job);
        }
    }

    /// Whether a run is in flight, tracked.
    pub fn pending(&self) -> Memo<bool> {
        self.core.pending()
    }

    /// Forgets the latest run's error.
    pub fn clear(&self) {
        self.core.value().set(None);
    }

    /// The error of the latest finished run, if it failed; tracked.
    pub fn error(&self) -> Signal<Option<ApiError>> {
        let core = self.core;
        Signal::derive(move || core.value().get().flatten())
    }
}
