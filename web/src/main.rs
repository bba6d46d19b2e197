//! The web app's entry point: Trunk builds this binary for wasm32.

fn main() {
    #[cfg(target_arch = "wasm32")]
    tasktracker_web::app::start();
}
