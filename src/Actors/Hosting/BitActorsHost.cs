using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Logger.Serilog;
using BitActors.Actors.Training;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace BitActors.Actors.Hosting;

/// <summary>
/// The one place where the actor system is wired, with Akka.Hosting: a generic host whose Akka service takes
/// the configuration (<see cref="BitActorsConfig.Load"/>: reference, <c>--config</c> file, <c>BITACTORS__*</c>
/// environment variables, <c>--set</c> flags), sends Akka's logs through Serilog, and starts a run's actors,
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
    public static BitActorsHost Start(Config config, string name, Action<ActorSystem, IActorRegistry>? actors = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        // Signals belong to the command (a graceful stop checkpoints first), not to the host's console lifetime.
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
            if (actors is not null) akka.WithActors((system, registry) => actors(system, registry));
        });
        var host = builder.Build();
        host.Start();
        return new BitActorsHost(host);
    }

    /// <summary>Starts a run: the reporter (<paramref name="reporter"/>) and the <see cref="TrainingSupervisor"/>, both registered.</summary>
    public IActorRef StartRun(RunSpec run, Props reporter)
    {
        // Names carry the run id: a study runs several specs one after another in the same system.
        var reporterRef = System.ActorOf(reporter, $"reporter-{run.RunId}");
        // The registry names the current run's actors: a study runs several specs one after another.
        Registry.Register<RunReporterKey>(reporterRef, overwrite: true);
        var supervisor = System.ActorOf(TrainingSupervisor.Props(run, reporterRef), $"supervisor-{run.RunId}");
        Registry.Register<TrainingSupervisor>(supervisor, overwrite: true);
        return supervisor;
    }

    /// <summary>Stops the actor system (coordinated shutdown) and the host.</summary>
    public async Task StopAsync()
    {
        await CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClrExitReason.Instance);
        await _host.StopAsync(TimeSpan.FromSeconds(30));
    }

    public void Dispose() => _host.Dispose();

    /// <summary>A host lifetime that leaves SIGINT/SIGTERM alone: the command ends the host when the run has ended.</summary>
    private sealed class CommandLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
