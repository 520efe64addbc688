using Akka.Configuration;
using DeviceNames = BitActors.Model.Training.Devices;

namespace BitActors.Actors.Cluster;

/// <summary>
/// <c>bitactors.cluster</c>: how a node joins (address, seed nodes or discovery, roles, split-brain resolver), where
/// artifacts live, and how its trainers work. <see cref="Hosting.BitActorsHost.StartNode"/> turns it into Akka's settings.
/// </summary>
public sealed record ClusterSettings(
    string Hostname, string PublicHostname, int Port, IReadOnlyList<string> SeedNodes, IReadOnlyList<string> Roles,
    string SbrStrategy, TimeSpan SbrStableAfter, string Artifacts, IReadOnlyList<string> Devices, int CheckpointEvery, TimeSpan RequestInterval)
{
    public const string SystemName = "bitactors";
    public const string CoordinatorRole = "coordinator";
    public const string TrainerRole = "trainer";

    /// <summary>2 MiB: above Kafka's 1,000,000-byte record, so an event Kafka takes also crosses remoting (Akka's default is 128,000 bytes).</summary>
    public const long DefaultMaximumFrameSize = 2L << 20;

    /// <summary>The largest message remoting sends or accepts (<c>maximum-frame-size</c>): events, assignments and outcomes.</summary>
    public long MaximumFrameSize { get; init; } = DefaultMaximumFrameSize;
    private static readonly string[] KnownRoles = [CoordinatorRole, TrainerRole];
    private static readonly string[] KnownStrategies = ["keep-majority", "static-quorum", "keep-oldest", "keep-referee", "down-all", "lease-majority"];

    public bool Has(string role) => Roles.Contains(role);

    public string PublicHostnameOrHost => PublicHostname.Length > 0 ? PublicHostname : Hostname;

    /// <summary>
    /// The seed nodes Akka.Cluster joins by itself: none with discovery (the cluster bootstrap joins). Written either way in
    /// the configuration, they are given in the scheme of the transport: <c>akka.ssl.tcp://</c> with TLS, else <c>akka.tcp://</c>.
    /// </summary>
    public IReadOnlyList<string> JoinSeedNodes => Discovery.UsesBootstrap ? [] : SeedNodes.Select(InScheme).ToList();

    private const string TcpScheme = "akka.tcp://", TlsScheme = "akka.ssl.tcp://";

    private string InScheme(string address)
    {
        var rest = address.StartsWith(TlsScheme, StringComparison.Ordinal) ? address[TlsScheme.Length..] : address[TcpScheme.Length..];
        return (Tls.Enabled ? TlsScheme : TcpScheme) + rest;
    }

    /// <summary>Remoting over TLS with the cluster's shared certificate (<c>tls</c>), or plain TCP.</summary>
    public ClusterTls Tls { get; init; } = ClusterTls.None;

    /// <summary>How the node finds the cluster: the seed nodes, or Akka.Management's cluster bootstrap (<c>discovery</c>, <c>bootstrap</c>).</summary>
    public ClusterDiscovery Discovery { get; init; } = ClusterDiscovery.Seeds;

    public static ClusterSettings From(Config config)
    {
        var c = config.GetConfig("bitactors.cluster") ?? throw new InvalidDataException("the configuration has no bitactors.cluster section");
        var roles = c.GetStringList("roles").Select(r => r.Trim()).Where(r => r.Length > 0).ToList();
        var settings = new ClusterSettings(
            c.GetString("hostname"), c.GetString("public-hostname"), c.GetInt("port"), c.GetStringList("seed-nodes").ToList(), roles,
            c.GetString("split-brain-resolver.active-strategy"), c.GetTimeSpan("split-brain-resolver.stable-after"),
            c.GetString("artifacts"), c.GetStringList("trainer.devices").ToList(), c.GetInt("trainer.checkpoint-every"), c.GetTimeSpan("trainer.request-interval"))
            { Discovery = ClusterDiscovery.From(c), MaximumFrameSize = c.GetByteSize("maximum-frame-size") ?? DefaultMaximumFrameSize, Tls = ClusterTls.From(c) };
        return settings.Validated();
    }

    /// <summary>The roles given on the command line (<c>--roles coordinator,trainer</c>) instead of the configured ones.</summary>
    public ClusterSettings WithRoles(string roles) =>
        (this with { Roles = roles.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList() }).Validated();

    /// <summary>The seed nodes given on the command line (comma-separated) instead of the configured ones.</summary>
    public ClusterSettings WithSeedNodes(string seeds) =>
        (this with { SeedNodes = seeds.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList() }).Validated();

    /// <summary>The discovery method given on the command line (<c>--discovery config</c>) instead of the configured one.</summary>
    public ClusterSettings WithDiscovery(string method) => (this with { Discovery = (Discovery with { Method = method.Trim() }).Validated() }).Validated();

    /// <summary>The management port given on the command line instead of the configured one.</summary>
    public ClusterSettings WithManagementPort(int port) => (this with { Discovery = (Discovery with { ManagementPort = port }).Validated() }).Validated();

    private ClusterSettings Validated()
    {
        if (Roles.Count == 0) throw new InvalidDataException($"bitactors.cluster.roles: give at least one of {string.Join(", ", KnownRoles)}");
        if (Roles.FirstOrDefault(r => !KnownRoles.Contains(r)) is { } unknown)
            throw new InvalidDataException($"unknown cluster role '{unknown}': the roles are {string.Join(", ", KnownRoles)}");
        if (Port is < 0 or > 65535) throw new InvalidDataException($"bitactors.cluster.port must be 0-65535, not {Port}");
        if (!Discovery.UsesBootstrap && SeedNodes.Count == 0)
            throw new InvalidDataException("bitactors.cluster.seed-nodes is empty: list at least one node address, e.g. akka.tcp://bitactors@HOST:4053 (the first node lists itself)");
        if (SeedNodes.FirstOrDefault(s => !s.StartsWith($"{TcpScheme}{SystemName}@", StringComparison.Ordinal) && !s.StartsWith($"{TlsScheme}{SystemName}@", StringComparison.Ordinal)) is { } bad)
            throw new InvalidDataException($"bitactors.cluster.seed-nodes: '{bad}' is not an address of this system ({TcpScheme}{SystemName}@HOST:PORT)");
        if (!KnownStrategies.Contains(SbrStrategy))
            throw new InvalidDataException($"bitactors.cluster.split-brain-resolver.active-strategy must be one of {string.Join(", ", KnownStrategies)}, not '{SbrStrategy}'");
        if (Has(TrainerRole) && Devices.Count == 0) throw new InvalidDataException($"bitactors.cluster.trainer.devices is empty: a trainer node needs at least one device ({DeviceNames.Accepted})");
        if (Devices.FirstOrDefault(d => DeviceNames.Problem(d) is not null) is { } device)
            throw new InvalidDataException($"bitactors.cluster.trainer.devices: '{device}' is not {DeviceNames.Accepted}");
        if (CheckpointEvery < 0) throw new InvalidDataException($"bitactors.cluster.trainer.checkpoint-every must not be negative, not {CheckpointEvery}");
        if (MaximumFrameSize < 32000) throw new InvalidDataException($"bitactors.cluster.maximum-frame-size must be at least 32000 bytes (Akka's minimum), not {MaximumFrameSize}");
        if (RequestInterval <= TimeSpan.Zero) throw new InvalidDataException("bitactors.cluster.trainer.request-interval must be positive");
        return this;
    }
}
