using Akka.Configuration;
using BitActors.Actors.Telemetry;
using Serilog;
using Spectre.Console;

namespace BitActors.Cli.Commands;

/// <summary>
/// <c>--metrics-port</c>: the Prometheus endpoint (<see cref="MetricsEndpoint"/>) of <c>run</c>, <c>demo</c> (127.0.0.1,
/// only when asked) and <c>node</c> (<c>bitactors.metrics</c> unless the option is given). A port asked for on the
/// command line that cannot be served ends the command; one from the configuration is logged and skipped.
/// </summary>
internal static class MetricsPortOption
{
    public const string Help = "Serve Prometheus metrics (bitactors_* series) at http://127.0.0.1:PORT/metrics while the command runs";

    public static ValidationResult Validate(int? port) =>
        port is < 1 or > 65535 ? ValidationResult.Error($"--metrics-port must be 1-65535, not {port}") : ValidationResult.Success();

    /// <summary>The endpoint of <c>run</c>/<c>demo</c>: none without the option.</summary>
    public static MetricsEndpoint? Serve(int? port) => port is int p ? Started(MetricsEndpoint.Start("127.0.0.1", p)) : null;

    /// <summary>The endpoint of a <c>node</c>: the option's port on <c>bitactors.metrics.hostname</c>, else <c>bitactors.metrics</c>.</summary>
    public static MetricsEndpoint? ServeNode(int? port, Config config)
    {
        var (host, configured) = MetricsEndpoint.Settings(config);
        if (port is int p) return Started(MetricsEndpoint.Start(host, p));
        if (configured == 0) return null;
        try
        {
            return Started(MetricsEndpoint.Start(host, configured));
        }
        catch (InvalidOperationException e)
        {
            Log.Warning("no metrics endpoint (bitactors.metrics.port): {Reason}", e.Message);
            return null;
        }
    }

    private static MetricsEndpoint Started(MetricsEndpoint endpoint)
    {
        Log.Information("metrics at {Url}", endpoint.Url);
        return endpoint;
    }
}
