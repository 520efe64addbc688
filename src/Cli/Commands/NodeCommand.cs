using System.ComponentModel;
using System.Runtime.InteropServices;
using Akka.Actor;
using BitActors.Actors.Cluster;
using BitActors.Actors.Hosting;
using BitActors.Cli.Terminal;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using Serilog;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BitActors.Cli.Commands;

/// <summary>
/// Joins an Akka.Cluster as a node with the given roles: a coordinator (the fine-tune coordinator singleton) and/or a
/// trainer (one task per device, pulled from the coordinator). Serves until SIGINT/SIGTERM, then leaves the cluster
/// gracefully (its running tasks go to other nodes and resume from their last checkpoint).
/// </summary>
public sealed class NodeCommand(IAnsiConsole console) : AsyncCommand<NodeCommand.Settings>
{
    /// <summary>Containers set the advertised address here (infra/entrypoint.sh: the container's IP).</summary>
    public const string PublicHostnameVariable = "BITACTORS_PUBLIC_HOSTNAME";

    public sealed class Settings : CommandSettings
    {
        [CommandOption("--roles <ROLES>")]
        [Description("Comma-separated roles: coordinator, trainer (default: bitactors.cluster.roles).")]
        public string? Roles { get; init; }

        [CommandOption("--config <FILE>")]
        [Description("HOCON file overriding hocon/bitactors.conf (bitactors.cluster: address, seed nodes, artifacts, devices, the job).")]
        public string? Config { get; init; }

        [CommandOption("--bootstrap-servers <SERVERS>")]
        [Description("The Kafka cluster (default: bitactors.kafka.bootstrap-servers; required, a cluster needs a shared broker).")]
        public string? BootstrapServers { get; init; }

        [CommandOption("--port <PORT>")]
        [Description("Port of this node (default: bitactors.cluster.port; 0 = any free port).")]
        public int? Port { get; init; }

        [CommandOption("--public-hostname <HOST>")]
        [Description("The address other nodes reach this one at (default: $BITACTORS_PUBLIC_HOSTNAME, else bitactors.cluster.public-hostname).")]
        public string? PublicHostname { get; init; }

        [CommandOption("--seed-nodes <ADDRESSES>")]
        [Description("Comma-separated seed node addresses, akka.tcp://bitactors@HOST:PORT (default: bitactors.cluster.seed-nodes).")]
        public string? SeedNodes { get; init; }

        [CommandOption("--discovery <METHOD>")]
        [Description("How to find the cluster: seed-nodes, config or kubernetes (default: bitactors.cluster.discovery).")]
        public string? Discovery { get; init; }

        [CommandOption("--management-port <PORT>")]
        [Description("Port of this node's Akka.Management endpoint, with discovery (default: bitactors.cluster.bootstrap.management.port).")]
        public int? ManagementPort { get; init; }

        [CommandOption("--metrics-port <PORT>")]
        [Description("Port of this node's Prometheus metrics, http://HOST:PORT/metrics (default: bitactors.metrics.port, on bitactors.metrics.hostname).")]
        public int? MetricsPort { get; init; }

        public override ValidationResult Validate() =>
            Config is not null && !File.Exists(Config) ? ValidationResult.Error($"--config: file not found: {Config}")
            : Port is < 0 or > 65535 ? ValidationResult.Error($"--port must be 0-65535, not {Port}")
            : ManagementPort is < 1 or > 65535 ? ValidationResult.Error($"--management-port must be 1-65535, not {ManagementPort}")
            : MetricsPortOption.Validate(MetricsPort) is { Successful: false } metrics ? metrics
            : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var config = BitActorsConfig.Load(settings.Config);
        using var metrics = MetricsPortOption.ServeNode(settings.MetricsPort, config);
        var cluster = ClusterSettings.From(config);
        if (settings.Roles is not null) cluster = cluster.WithRoles(settings.Roles);
        if (settings.Port is int port) cluster = cluster with { Port = port };
        if (settings.SeedNodes is not null) cluster = cluster.WithSeedNodes(settings.SeedNodes);
        if (settings.Discovery is not null) cluster = cluster.WithDiscovery(settings.Discovery);
        if (settings.ManagementPort is int managementPort) cluster = cluster.WithManagementPort(managementPort);
        if ((settings.PublicHostname ?? Environment.GetEnvironmentVariable(PublicHostnameVariable)) is { Length: > 0 } advertised)
            cluster = cluster with { PublicHostname = advertised };
        using (cluster.Tls.Load()) { } // a missing or unreadable certificate is refused before anything starts
        var bootstrap = settings.BootstrapServers ?? config.GetString("bitactors.kafka.bootstrap-servers");
        if (string.IsNullOrWhiteSpace(bootstrap))
            throw new InvalidDataException("a cluster node needs a shared Kafka: give --bootstrap-servers or bitactors.kafka.bootstrap-servers (`kafka up` serves one for trials)");
        var kafka = new KafkaEndpoint(bootstrap, BitActorsConfig.KafkaClient(config));
        KafkaClients.CheckReachable(kafka, TimeSpan.FromSeconds(15));
        var store = ArtifactStore.At(config.GetString("bitactors.cluster.artifacts"));
        ClusterJob? job = null;
        if (cluster.Has(ClusterSettings.CoordinatorRole))
        {
            job = ClusterJobs.From(config, kafka);
            await new KafkaTopicAdmin(kafka).EnsureTopicAsync(new TopicSpec(Topics.Models, 1), cancellationToken);
        }
        var fineTune = BitActorsConfig.FineTune(config, null, job?.Backbone?.InChannels ?? BitActorsConfig.Upstream(config).Data.Augment.Channels);

        using var host = BitActorsHost.StartNode(config, cluster);
        var system = host.System;
        var member = Akka.Cluster.Cluster.Get(system);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; Leave(system); });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; Leave(system); });
        member.RegisterOnMemberUp(() => Log.Information("node {Address} is up with roles {Roles}", member.SelfAddress, string.Join(",", cluster.Roles)));
        ClusterNode.Start(system, cluster, job, kafka, fineTune, store, BitActorsConfig.Upstream(config));
        await ClusterMembership.JoinAsync(system, cluster);
        console.WritePlainLine($"node={member.SelfAddress}");
        Log.Information("node {Address}: roles {Roles}, {Membership}, artifacts {Artifacts}{Job}", member.SelfAddress, string.Join(",", cluster.Roles),
            cluster.Discovery.UsesBootstrap ? $"discovery {cluster.Discovery.Method}" : $"seed nodes {string.Join(" ", cluster.SeedNodes)}",
            store.Uri, job is null ? "" : $", run {job.RunId} ({job.Tasks.Count} tasks)");
        await system.WhenTerminated.WaitAsync(cancellationToken);
        Log.Information("node {Address} stopped", member.SelfAddress);
        return 0;
    }

    private static void Leave(ActorSystem system)
    {
        Log.Information("leaving the cluster");
        _ = CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClusterLeavingReason.Instance);
    }
}
