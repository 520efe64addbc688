using System.Net;
using System.Net.Sockets;
using Akka.Configuration;
using BitActors.Streams.Telemetry;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace BitActors.Actors.Telemetry;

/// <summary>
/// Serves the <see cref="BitMetrics"/> series in Prometheus text format at <c>http://HOST:PORT/metrics</c> for as long
/// as it is not disposed (OpenTelemetry's SDK and its HttpListener exporter). <c>run</c>/<c>demo --metrics-port</c>
/// serve on 127.0.0.1; a <c>node</c> on <c>bitactors.metrics</c> (all interfaces by default: Prometheus scrapes pods).
/// Akka.Management's HTTP endpoint only runs with cluster bootstrap, so the series have a port of their own.
/// </summary>
public sealed class MetricsEndpoint : IDisposable
{
    /// <summary>The host that binds every interface (HttpListener's wildcard).</summary>
    public const string AnyHost = "+";

    private readonly MeterProvider _provider;

    private MetricsEndpoint(MeterProvider provider, Uri url) => (_provider, Url) = (provider, url);

    /// <summary>Where a scrape goes (the wildcard host shown as 127.0.0.1).</summary>
    public Uri Url { get; }

    /// <exception cref="InvalidOperationException">The port is not 1-65535, or cannot be bound (in use, not allowed): the message says which.</exception>
    public static MetricsEndpoint Start(string host, int port)
    {
        if (port is < 1 or > 65535) throw new InvalidOperationException($"metrics port must be 1-65535, not {port}");
        // The listener starts on a thread pool callback and only logs a bind failure: find out here, with a message.
        var probe = new TcpListener(host is AnyHost or "*" ? IPAddress.Any : Dns.GetHostAddresses(host).First(), port);
        try
        {
            probe.Start();
        }
        catch (SocketException e)
        {
            throw new InvalidOperationException($"metrics port {port} on {host} cannot be served: {e.Message}");
        }
        finally
        {
            probe.Stop();
        }
        var provider = Sdk.CreateMeterProviderBuilder()
            .ConfigureResource(r => r.AddService("bitactors"))
            .AddMeter(BitMetrics.MeterName)
            .AddPrometheusHttpListener(o =>
            {
                o.Port = port;
                o.ScrapeResponseCacheDurationMilliseconds = 0;
                o.ConfigureHttpListener = (options, listener) =>
                {
                    listener.Prefixes.Clear();
                    listener.Prefixes.Add($"http://{host}:{options.Port}/metrics/");
                };
            })
            .Build();
        BitMetrics.Zero();
        return new MetricsEndpoint(provider, new Uri($"http://{(host is AnyHost or "*" ? "127.0.0.1" : host)}:{port}/metrics"));
    }

    /// <summary><c>bitactors.metrics</c>: the host and port a node serves on; port 0 serves none.</summary>
    public static (string Host, int Port) Settings(Config config) =>
        (config.GetString("bitactors.metrics.hostname", AnyHost), config.GetInt("bitactors.metrics.port", 0));

    public void Dispose() => _provider.Dispose();
}
