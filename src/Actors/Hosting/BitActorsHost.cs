using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Logger.Serilog;
using Akka.Remote.Hosting;
using BitActors.Actors.Cluster;
using BitActors.Actors.Training;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace BitActors.Actors.Hosting;

/// <summary>
/// The one place where an actor system is wired, with Akka.Hosting, for every command that starts actors: a generic
/// host whose Akka service takes the configuration (<see cref="BitActorsConfig.Load"/>: reference, <c>--config</c> file,
/// <c>BITACTORS__*</c> environment variables, <c>--set</c> flags), sends Akka's logs through Serilog and, for a cluster
/// node (<see cref="StartNode"/>), adds remoting, the cluster and Akka.Management's settings. A run's actors are
/// registered in the <see cref="ActorRegistry"/> (<see cref="RunReporterKey"/>, <see cref="TrainingSupervisor"/>).
/// </summary>
public sealed class BitActorsHost : IDisposable
{
    /// <summary>Registry key of the actor that follows a run for the command (the CLI's reporter).</summary>
    public sealed class RunReporterKey;

    private readonly IHost _host;

    private BitActorsHost(IHost host)
    {
        _host = host;
        System = host.Services.GetRequiredService<ActorSystem>();
        Registry = host.Services.GetRequiredService<ActorRegistry>();
    }

    public ActorSystem System { get; }

    public ActorRegistry Registry { get; }

    /// <summary>Builds and starts the host; <paramref name="actors"/> adds actors started with the system.</summary>
    public static BitActorsHost Start(Config config, string name, Action<ActorSystem, IActorRegistry>? actors = null) => Start(config, name, null, actors);

    /// <summary>
    /// Builds and starts a cluster node's host (system <see cref="ClusterSettings.SystemName"/>): <paramref name="cluster"/>'s
    /// address, roles, seed nodes (none with discovery: <see cref="ClusterMembership"/> joins) and split-brain resolver
    /// over the configuration, and with discovery Akka.Management's and Akka.Discovery's settings.
    /// </summary>
    public static BitActorsHost StartNode(Config config, ClusterSettings cluster) => Start(config, ClusterSettings.SystemName, cluster, null);

    private static BitActorsHost Start(Config config, string name, ClusterSettings? cluster, Action<ActorSystem, IActorRegistry>? actors)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        // Signals belong to the command (a graceful stop checkpoints first, a node leaves the cluster), not to the
        // host's console lifetime.
        builder.Services.AddSingleton<IHostLifetime, CommandLifetime>();
        builder.Services.AddAkka(name, akka =>
        {
            // Under the host, Akka's CLR shutdown hook ran on the first SIGTERM although the command had taken
            // the signal, ending the system before the stop's checkpoint; the command stops the system itself.
            akka.AddHocon(config, HoconAddMode.Prepend)
                .AddHocon("akka.coordinated-shutdown.run-by-clr-shutdown-hook = off", HoconAddMode.Prepend)
                .ConfigureLoggers(logging =>
                {
                    logging.ClearLoggers();
                    logging.AddLogger<SerilogLogger>();
                });
            // Added after the configuration, so the node's settings take precedence over it.
            if (cluster is not null) WithCluster(akka, cluster);
            if (actors is not null) akka.WithActors((system, registry) => actors(system, registry));
        });
        var host = builder.Build();
        host.Start();
        return new BitActorsHost(host);
    }

    /// <summary>
    /// Starts a run: the reporter (<paramref name="reporter"/>) and the <see cref="TrainingSupervisor"/> (or
    /// <paramref name="supervisor"/>, made for the reporter), both registered, each kept by a <see cref="BoundedSupervisor"/>
    /// (<c>bitactors.supervision.max-restarts</c>): a supervisor that keeps failing ends the run with a
    /// <see cref="RunFailed"/> naming its failure. The reporter is told to watch the run (<see cref="WatchRun"/>).
    /// </summary>
    public IActorRef StartRun(RunSpec run, Props reporter, Func<IActorRef, Props>? supervisor = null)
    {
        var budget = BitActorsConfig.MaxRestarts(System.Settings.Config);
        // Names carry the run id: a study runs several specs one after another in the same system.
        var reporterRef = System.ActorOf(BoundedSupervisor.Props(reporter, "reporter", budget), $"reporter-{run.RunId}");
        // The registry names the current run's actors: a study runs several specs one after another.
        Registry.Register<RunReporterKey>(reporterRef, overwrite: true);
        var supervisorRef = System.ActorOf(BoundedSupervisor.Props(supervisor?.Invoke(reporterRef) ?? TrainingSupervisor.Props(run, reporterRef), "run", budget,
            (e, failures) => reporterRef.Tell(new RunFailed(run.RunId, $"the run's supervisor failed {failures} time(s), last with {e.GetType().Name}: {e.Message}"))),
            $"supervisor-{run.RunId}");
        Registry.Register<TrainingSupervisor>(supervisorRef, overwrite: true);
        reporterRef.Tell(new WatchRun(run.RunId, supervisorRef));
        return supervisorRef;
    }

    /// <summary>Stops the actor system (coordinated shutdown) and the host.</summary>
    public async Task StopAsync()
    {
        await CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClrExitReason.Instance);
        await _host.StopAsync(TimeSpan.FromSeconds(30));
    }

    public void Dispose() => _host.Dispose();

    /// <summary>
    /// A cluster node: remoting on <see cref="ClusterSettings.Hostname"/>:<see cref="ClusterSettings.Port"/> advertised as
    /// <see cref="ClusterSettings.PublicHostnameOrHost"/>, the cluster with its roles, seed nodes and split-brain resolver,
    /// and Akka.Management's settings when it finds the cluster through discovery.
    /// </summary>
    private static void WithCluster(AkkaConfigurationBuilder akka, ClusterSettings cluster)
    {
        // Socket buffers at least one frame, as Akka asks for the frame size it is given.
        var buffers = Math.Max(256_000, cluster.MaximumFrameSize);
        var remoting = new RemoteOptions
        {
            HostName = cluster.Hostname, PublicHostName = cluster.PublicHostnameOrHost, Port = cluster.Port,
            MaxFrameSize = cluster.MaximumFrameSize, SendBufferSize = buffers, ReceiveBufferSize = buffers,
        };
        if (cluster.Tls.Load() is { } certificate)
        {
            // Mutual TLS, each side accepting only the cluster's own certificate (ClusterTls.SameAs): not a CA's chain.
            remoting.EnableSsl = true;
            remoting.Ssl = new SslOptions
            {
                X509Certificate = certificate, SuppressValidation = false, RequireMutualAuthentication = true,
                ValidateCertificateHostname = false, CustomValidator = ClusterTls.SameAs(certificate),
            };
        }
        akka.WithRemoting(remoting);
        // Akka.Cluster.Hosting names three of the strategies; the others, and stable-after, have no option there.
        SplitBrainResolverOption? strategy = cluster.SbrStrategy switch
        {
            "keep-majority" => new KeepMajorityOption(),
            // Null: the quorum size and down-if-alone stay Akka's (or the configuration's akka.cluster.split-brain-resolver).
            "static-quorum" => new StaticQuorumOption { QuorumSize = null },
            "keep-oldest" => new KeepOldestOption { DownIfAlone = null },
            _ => null,
        };
        akka.WithClustering(new ClusterOptions
        {
            Roles = cluster.Roles.ToArray(),
            SeedNodes = cluster.JoinSeedNodes.ToArray(),
            SplitBrainResolver = strategy,
        });
        var sbr = strategy is null
            ? $"downing-provider-class = \"{typeof(Akka.Cluster.SBR.SplitBrainResolverProvider).AssemblyQualifiedName}\", split-brain-resolver.active-strategy = {cluster.SbrStrategy}"
            : "";
        // With no seed nodes Akka.Cluster.Hosting leaves the list alone; the bootstrap must not join configured ones.
        akka.AddHocon($$"""
            akka.cluster {
              {{sbr}}
              split-brain-resolver.stable-after = {{(int)cluster.SbrStableAfter.TotalMilliseconds}}ms
              {{(cluster.JoinSeedNodes.Count == 0 ? "seed-nodes = []" : "")}}
            }
            """, HoconAddMode.Prepend);
        if (cluster.Discovery.UsesBootstrap) akka.AddHocon(ManagementConfig(cluster.Discovery, cluster.Hostname, cluster.PublicHostnameOrHost), HoconAddMode.Prepend);
    }

    /// <summary>
    /// Akka.Management's and Akka.Discovery's settings (Akka.Hosting has no API for them): the management endpoint bound on
    /// <paramref name="bindHostname"/> and advertised as <see cref="ClusterDiscovery.ManagementHostname"/> (else
    /// <paramref name="publicHostname"/>), with the health routes, the bootstrap's contact-point discovery, and the method.
    /// </summary>
    private static Config ManagementConfig(ClusterDiscovery discovery, string bindHostname, string publicHostname)
    {
        static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
        static string TypeName(Type type) => Quote(type.AssemblyQualifiedName!.Split(", Version=")[0]);
        var advertised = discovery.ManagementHostname.Length > 0 ? discovery.ManagementHostname : publicHostname;
        var method = discovery.Method == ClusterDiscovery.Config
            ? $$"""
              method = config
              config.services.{{Quote(discovery.ServiceName)}}.endpoints = [{{string.Join(", ", discovery.Endpoints.Select(Quote))}}]
              """
            : $$"""
              method = {{ClusterDiscovery.KubernetesMethodName}}
              {{ClusterDiscovery.KubernetesMethodName}} {
                class = {{TypeName(typeof(KubernetesPodDiscovery))}}
                namespace = {{Quote(discovery.KubernetesNamespace)}}
                label-selector = {{Quote(discovery.KubernetesLabelSelector)}}
              }
              """;
        return ConfigurationFactory.ParseString($$"""
            akka.management {
              http {
                hostname = {{Quote(advertised)}}
                port = {{discovery.ManagementPort}}
                bind-hostname = {{Quote(bindHostname)}}
                bind-port = {{discovery.ManagementPort}}
                routes.bitactors-health = {{TypeName(typeof(HealthRoutes))}}
              }
              cluster.bootstrap {
                contact-point-discovery {
                  service-name = {{Quote(discovery.ServiceName)}}
                  # The effective name is the service name itself (no namespace suffix): the config method's key.
                  effective-name = {{Quote(discovery.ServiceName)}}
                  port-name = {{Quote(discovery.Method == ClusterDiscovery.Kubernetes ? discovery.KubernetesPortName : "")}}
                  required-contact-point-nr = {{discovery.RequiredContactPoints}}
                  stable-margin = {{(int)discovery.StableMargin.TotalMilliseconds}}ms
                  discovery-method = akka.discovery
                }
                # Discovery returns management endpoints only; several nodes may share a host (other ports).
                contact-point.filter-on-fallback-port = false
              }
            }
            akka.discovery {
            {{method}}
            }
            """);
    }

    /// <summary>A host lifetime that leaves SIGINT/SIGTERM alone: the command ends the host when its work has ended.</summary>
    private sealed class CommandLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
