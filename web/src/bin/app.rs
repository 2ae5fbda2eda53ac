fn main() {
    evtx_triage_web::browser::lock_down_network();
    yew::Renderer::<evtx_triage_web::components::app::App>::new().render();
}
