using System.ComponentModel;
using System.Runtime.InteropServices;
using BitActors.Cli.Terminal;
using BitActors.Streams.Kafka;
using Serilog;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BitActors.Cli.Commands;

public sealed class KafkaUpCommand(IAnsiConsole console) : AsyncCommand<KafkaUpCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--brokers <N>")]
        [Description("Number of brokers in the embedded cluster (default 1).")]
        [DefaultValue(1)]
        public int Brokers { get; init; } = 1;
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using var kafka = new EmbeddedKafka(settings.Brokers);
        var serving = TopicRequests.ServeAsync(kafka, spec => Log.Information("created topic {Topic} ({Partitions} partitions)", spec.Name, spec.Partitions), stop.Token);
        console.WritePlainLine($"bootstrap={kafka.BootstrapServers}");
        Log.Information("embedded Kafka: {Brokers} broker(s) at {Bootstrap}; topics are created on request (publish does it); Ctrl-C stops",
            settings.Brokers, kafka.BootstrapServers);
        try { await Task.Delay(Timeout.Infinite, stop.Token); }
        catch (OperationCanceledException) { }
        try { await serving; } catch (OperationCanceledException) { }
        Log.Information("embedded Kafka stopped");
        return 0;
    }
}
