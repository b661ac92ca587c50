//! Tracing set-up: structured logs on stdout, filtered by `RUST_LOG`
//! (default `info`), and, when an OTLP endpoint is configured, spans and
//! metrics exported over OTLP/gRPC (tonic). Trace context travels in W3C
//! `traceparent` headers: the [`crate::layer::AuthLayer`] continues a
//! caller's trace, and [`crate::auth::Bearer`] sends the current one on.
//! Services log with `tracing` fields, never `println!`.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

/// Flushes and stops the exporters when dropped (at the end of `main`).
#[derive(Default)]
pub struct Telemetry {
    tracer: Option<SdkTracerProvider>,
    meter: Option<SdkMeterProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(t) = self.tracer.take()
            && let Err(err) = t.shutdown()
        {
            tracing::warn!(error = %err, "flushing spans failed");
        }
        if let Some(m) = self.meter.take()
            && let Err(err) = m.shutdown()
        {
            tracing::warn!(error = %err, "flushing metrics failed");
        }
    }
}

/// Installs the global subscriber (and the OTLP exporters when `otlp` names
/// an endpoint, `http://collector:4317`). Safe to call more than once
/// (tests, the all-in-one demo): later calls keep the first subscriber.
///
/// The OpenTelemetry variables are honoured as every OTel SDK does: without
/// `otlp`, `OTEL_EXPORTER_OTLP_ENDPOINT` names the endpoint, and
/// `OTEL_SERVICE_NAME` replaces `service` as the resource's service name.
pub fn init(format: LogFormat, otlp: Option<&str>, service: &str) -> Telemetry {
    let (endpoint, service) = standard_settings(otlp, service, |name| std::env::var(name).ok());
    init_with(
        format,
        endpoint.as_deref(),
        &service,
        std::time::Duration::from_secs(30),
    )
}

/// The endpoint and the service name, from the flags and the standard
/// `OTEL_*` variables (`var` reads one): a flag wins over a variable, an
/// empty variable counts as unset.
fn standard_settings(
    otlp: Option<&str>,
    service: &str,
    var: impl Fn(&str) -> Option<String>,
) -> (Option<String>, String) {
    let set = |name: &str| var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let endpoint = otlp
        .map(str::to_owned)
        .filter(|e| !e.trim().is_empty())
        .or_else(|| set("OTEL_EXPORTER_OTLP_ENDPOINT"));
    let service = set("OTEL_SERVICE_NAME").unwrap_or_else(|| service.to_owned());
    (endpoint, service)
}

/// [`init`] with the interval at which metrics are exported.
pub fn init_with(
    format: LogFormat,
    otlp: Option<&str>,
    service: &str,
    metrics_every: std::time::Duration,
) -> Telemetry {
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let mut telemetry = Telemetry::default();
    let mut failure = None;
    let otel_layer = match otlp {
        Some(endpoint) => match exporters(endpoint, service, metrics_every) {
            Ok((tracer, meter)) => {
                opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
                opentelemetry::global::set_meter_provider(meter.clone());
                let layer = tracing_opentelemetry::layer().with_tracer(tracer.tracer("citydash"));
                telemetry.tracer = Some(tracer);
                telemetry.meter = Some(meter);
                Some(layer)
            }
            Err(err) => {
                failure = Some(err);
                None
            }
        },
        None => None,
    };
    let registry = tracing_subscriber::registry().with(filter()).with(otel_layer);
    let _ = match format {
        LogFormat::Text => registry.with(tracing_subscriber::fmt::layer()).try_init(),
        LogFormat::Json => registry.with(tracing_subscriber::fmt::layer().json()).try_init(),
    };
    match (otlp, failure) {
        (Some(endpoint), Some(err)) => tracing::warn!(endpoint, error = %err, "OTLP export disabled"),
        (Some(endpoint), None) => tracing::info!(endpoint, service, "exporting spans and metrics over OTLP"),
        _ => {}
    }
    telemetry
}

/// The trace context a caller sent (W3C `traceparent`), read whether or not
/// spans are exported: its trace id names the request in the logs.
pub fn caller_context(headers: &http::HeaderMap) -> opentelemetry::Context {
    use opentelemetry::propagation::TextMapPropagator as _;
    TraceContextPropagator::new().extract(&opentelemetry_http::HeaderExtractor(headers))
}

/// Makes `span` a child of the caller's trace and records its ids on it as
/// the fields `trace_id` and `span_id` (which the span must declare): the
/// span's own when spans are exported, else the caller's trace id alone.
/// Every log line inside the span, JSON or text, then carries them.
pub fn continue_trace(span: &tracing::Span, parent: opentelemetry::Context) {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let caller = parent.span().span_context().clone();
    let _ = span.set_parent(parent);
    let own = span.context().span().span_context().clone();
    if own.is_valid() {
        span.record("trace_id", own.trace_id().to_string());
        span.record("span_id", own.span_id().to_string());
    } else if caller.is_valid() {
        span.record("trace_id", caller.trace_id().to_string());
    }
}

fn exporters(
    endpoint: &str,
    service: &str,
    metrics_every: std::time::Duration,
) -> Result<(SdkTracerProvider, SdkMeterProvider), String> {
    use opentelemetry_otlp::WithExportConfig;
    let resource = Resource::builder().with_service_name(service.to_owned()).build();
    let spans = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| e.to_string())?;
    let tracer = SdkTracerProvider::builder()
        .with_batch_exporter(spans)
        .with_resource(resource.clone())
        .build();
    let metrics = opentelemetry_otlp::MetricExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| e.to_string())?;
    let reader = opentelemetry_sdk::metrics::PeriodicReader::builder(metrics)
        .with_interval(metrics_every)
        .build();
    let meter = SdkMeterProvider::builder()
        .with_reader(reader)
        .with_resource(resource)
        .build();
    Ok((tracer, meter))
}

#[cfg(test)]
mod tests {
    use super::standard_settings;

    #[test]
    fn the_standard_otel_variables_are_read_and_a_flag_wins() {
        let env = |name: &str| match name {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://collector:4317".to_owned()),
            "OTEL_SERVICE_NAME" => Some("citydash-agriculture".to_owned()),
            _ => None,
        };
        assert_eq!(
            standard_settings(None, "agriculture", env),
            (
                Some("http://collector:4317".to_owned()),
                "citydash-agriculture".to_owned()
            )
        );
        assert_eq!(
            standard_settings(Some("http://other:4317"), "agriculture", env)
                .0
                .as_deref(),
            Some("http://other:4317")
        );
        let empty = |_: &str| Some(" ".to_owned());
        assert_eq!(
            standard_settings(None, "agriculture", empty),
            (None, "agriculture".to_owned())
        );
    }
}
