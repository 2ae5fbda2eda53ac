fn main() {
    evtx_triage_web::worker::run_worker();
}
