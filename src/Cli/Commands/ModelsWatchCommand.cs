using System.ComponentModel;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BitActors.Cli.Terminal;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using Confluent.Kafka;
using Serilog;
using Spectre.Console.Cli;

namespace BitActors.Cli.Commands;

public sealed class ModelsWatchCommand : AsyncCommand<ModelsWatchCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--bootstrap-servers <SERVERS>")]
        [Description("Kafka to read bit.models from. Default: an embedded broker (empty; useful only for a try).")]
        public string? BootstrapServers { get; init; }

        [CommandOption("--json")]
        [Description("One JSON object per event and line: the CloudEvent attributes and its data.")]
        public bool Json { get; init; }

        [CommandOption("--max <N>")]
        [Description("Stop after N events (default: follow until Ctrl-C).")]
        public int? Max { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var kafka = KafkaConnection.Open(settings.BootstrapServers);
        using var admin = KafkaClients.CreateAdmin(kafka.BootstrapServers);
        while (KafkaClients.PartitionCount(admin, Topics.Models, TimeSpan.FromSeconds(10)) == 0)
        {
            Log.Information("waiting for {Topic} to exist at {Bootstrap}", Topics.Models, kafka.BootstrapServers);
            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        }
        var partitions = KafkaClients.PartitionCount(admin, Topics.Models, TimeSpan.FromSeconds(10));
        using var consumer = KafkaClients.CreateConsumer(kafka.BootstrapServers, $"bitactors-models-watch-{Guid.NewGuid():N}");
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(Topics.Models, p, Offset.Beginning)));
        if (!settings.Json) Console.Out.WriteLine($"{"time",-24} {"type",-24} {"subject",-36} {"top-1",8}  checkpoint");
        int seen = 0;
        await Task.Run(() =>
        {
            while (!cancellationToken.IsCancellationRequested && (settings.Max is null || seen < settings.Max))
            {
                var record = consumer.Consume(TimeSpan.FromMilliseconds(500));
                if (record?.Message is null) continue;
                seen++;
                var attributes = CloudEvents.Attributes(record.Message.Headers);
                JsonNode? data;
                try { data = JsonNode.Parse(Encoding.UTF8.GetString(record.Message.Value)); }
                catch (JsonException e) { Log.Warning("{Topic}@{Offset}: data is not JSON: {Error}", Topics.Models, record.Offset.Value, e.Message); continue; }
                if (settings.Json)
                {
                    var line = new JsonObject(attributes.Select(a => KeyValuePair.Create(a.Key, (JsonNode?)JsonValue.Create(a.Value)))) { ["data"] = data };
                    Console.Out.WriteLine(line.ToJsonString());
                }
                else
                {
                    var top1 = data?["metrics"]?["top1"]?.GetValue<double>() is double t ? t.ToString("P2") : "-";
                    var uri = data?["checkpoint"]?["uri"]?.GetValue<string>() ?? "-";
                    Console.Out.WriteLine($"{attributes.GetValueOrDefault("time", "?"),-24} {attributes.GetValueOrDefault("type", "?"),-24} {attributes.GetValueOrDefault("subject", "?"),-36} {top1,8}  {uri}");
                }
                Console.Out.Flush();
            }
        }, CancellationToken.None);
        consumer.Close();
        return 0;
    }
}
