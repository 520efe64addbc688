using System.Text.RegularExpressions;
using Akka.Configuration;

namespace BitActors.Actors.Cluster;

/// <summary>
/// <c>bitactors.cluster.discovery</c> and <c>bitactors.cluster.bootstrap</c>: how a node finds the cluster. With
/// <c>seed-nodes</c> it contacts the fixed seed nodes. With <c>config</c> or <c>kubernetes</c> it runs Akka.Management's
/// cluster bootstrap instead: its management HTTP endpoint answers other nodes' probes, Akka.Discovery lists the
/// contact points (a fixed list of management endpoints, or the pods the Kubernetes API lists for a label selector), and
/// the node joins whichever cluster a contact point reports; when none is in a cluster yet and at least
/// <see cref="RequiredContactPoints"/> have answered, the one with the lowest management address forms it (Akka's
/// <c>LowestAddressJoinDecider</c>) and the others join it.
/// </summary>
public sealed record ClusterDiscovery(
    string Method, string ServiceName, int RequiredContactPoints, TimeSpan StableMargin, string ManagementHostname, int ManagementPort,
    IReadOnlyList<string> Endpoints, string KubernetesNamespace, string KubernetesLabelSelector, string KubernetesPortName)
{
    public const string SeedNodes = "seed-nodes";
    public const string Config = "config";
    public const string Kubernetes = "kubernetes";
    private static readonly string[] Methods = [SeedNodes, Config, Kubernetes];

    /// <summary>The Akka.Discovery method name under which <see cref="KubernetesPodDiscovery"/> is configured.</summary>
    public const string KubernetesMethodName = "bitactors-kubernetes";

    /// <summary>The discovery of a configuration written before there was a choice: the fixed seed nodes.</summary>
    public static readonly ClusterDiscovery Seeds = new(SeedNodes, "bitactors", 1, TimeSpan.FromSeconds(5), "", 8558, [], "", "app=bitactors", "management");

    public bool UsesBootstrap => Method != SeedNodes;

    public static ClusterDiscovery From(Config cluster)
    {
        var b = cluster.GetConfig("bootstrap") ?? throw new InvalidDataException("the configuration has no bitactors.cluster.bootstrap section");
        return new ClusterDiscovery(
            cluster.GetString("discovery", SeedNodes).Trim(), b.GetString("service-name"), b.GetInt("required-contact-points"), b.GetTimeSpan("stable-margin"),
            b.GetString("management.hostname"), b.GetInt("management.port"), b.GetStringList("endpoints").Select(e => e.Trim()).ToList(),
            b.GetString("kubernetes.namespace"), b.GetString("kubernetes.label-selector"), b.GetString("kubernetes.port-name")).Validated();
    }

    public ClusterDiscovery Validated()
    {
        const string at = "bitactors.cluster.bootstrap";
        if (!Methods.Contains(Method))
            throw new InvalidDataException($"bitactors.cluster.discovery must be one of {string.Join(", ", Methods)}, not '{Method}'");
        if (!UsesBootstrap) return this;
        if (!Regex.IsMatch(ServiceName, "^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$"))
            throw new InvalidDataException($"{at}.service-name must be a DNS-style name (letters, digits, '-', '.'), not '{ServiceName}'");
        if (RequiredContactPoints < 1) throw new InvalidDataException($"{at}.required-contact-points must be at least 1, not {RequiredContactPoints}");
        if (StableMargin <= TimeSpan.Zero) throw new InvalidDataException($"{at}.stable-margin must be positive");
        if (ManagementPort is < 1 or > 65535)
            throw new InvalidDataException($"{at}.management.port must be 1-65535, not {ManagementPort} (other nodes probe it: it cannot be chosen at random)");
        if (Method == Config)
        {
            if (Endpoints.Count == 0)
                throw new InvalidDataException($"{at}.endpoints is empty: with discovery = config list every node's management endpoint, e.g. [\"10.0.0.1:8558\", \"10.0.0.2:8558\"]");
            if (Endpoints.FirstOrDefault(e => ParseEndpoint(e) is null) is { } bad)
                throw new InvalidDataException($"{at}.endpoints: '{bad}' is not HOST:PORT (a node's management endpoint, port 1-65535)");
            if (RequiredContactPoints > Endpoints.Count)
                throw new InvalidDataException($"{at}.required-contact-points is {RequiredContactPoints} but endpoints lists only {Endpoints.Count}: the cluster could never form");
        }
        if (Method == Kubernetes)
        {
            if (string.IsNullOrWhiteSpace(KubernetesLabelSelector))
                throw new InvalidDataException($"{at}.kubernetes.label-selector is empty: give the labels of the pods to join, e.g. \"app=bitactors\"");
            if (string.IsNullOrWhiteSpace(KubernetesPortName))
                throw new InvalidDataException($"{at}.kubernetes.port-name is empty: give the name of the management port in the pods' spec, e.g. \"management\"");
        }
        return this;
    }

    /// <summary>HOST:PORT of a management endpoint, or null when it is not one.</summary>
    public static (string Host, int Port)? ParseEndpoint(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(endpoint[(colon + 1)..], out var port) || port is < 1 or > 65535) return null;
        var host = endpoint[..colon].Trim('[', ']');
        return host.Length == 0 || host.Any(char.IsWhiteSpace) ? null : (host, port);
    }
}
