using System.ComponentModel;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BitActors.Actors.Hosting;
using BitActors.Cli.Terminal;
using BitActors.Streams.Datasets;
using BitActors.Streams.Kafka;
using Serilog;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BitActors.Cli.Commands;

public sealed class ModelsWatchCommand(IAnsiConsole console) : AsyncCommand<ModelsWatchCommand.Settings>
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

        [CommandOption("--type <TYPE>")]
        [Description("Only events of this CloudEvents type, e.g. bit.finetune.completed (bit.backbone.ready, bit.finetune.failed); --max counts these.")]
        public string? Type { get; init; }

        [CommandOption("--dataset <NAME>")]
        [Description("Only events whose data names this downstream dataset (bit.finetune.completed and bit.finetune.failed name theirs); --max counts these.")]
        public string? Dataset { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        // No --config here: the reference configuration under the environment (Kafka client settings included).
        using var kafka = KafkaConnection.Open(settings.BootstrapServers, BitActorsConfig.Load());
        if (!settings.Json) console.WritePlainLine($"{"time",-24} {"type",-24} {"subject",-36} {"top-1",8}  checkpoint");
        int seen = 0;
        await Task.Run(() =>
        {
            using var events = ModelEventsLog.Follow(kafka.Endpoint, cancellationToken,
                () => Log.Information("waiting for {Topic} to exist at {Bootstrap}", Topics.Models, kafka.Endpoint.BootstrapServers)).GetEnumerator();
            // --max is checked before the next event is waited for.
            while ((settings.Max is null || seen < settings.Max) && events.MoveNext())
            {
                var e = events.Current;
                if (settings.Type is not null && e.Type != settings.Type) continue;
                JsonNode? data;
                try { data = JsonNode.Parse(Encoding.UTF8.GetString(e.Data)); }
                catch (JsonException notJson) { Log.Warning("{Topic}@{Offset}: data is not JSON: {Error}", Topics.Models, e.Offset, notJson.Message); continue; }
                if (settings.Dataset is not null && !NamesDataset(data, settings.Dataset)) continue;
                seen++;
                if (settings.Json)
                {
                    var line = new JsonObject(e.Attributes.Select(a => KeyValuePair.Create(a.Key, (JsonNode?)JsonValue.Create(a.Value)))) { ["data"] = data };
                    console.WritePlainLine(line.ToJsonString());
                }
                else
                {
                    var top1 = data?["metrics"]?["top1"]?.GetValue<double>() is double t ? t.ToString("P2") : "-";
                    var uri = data?["checkpoint"]?["uri"]?.GetValue<string>() ?? "-";
                    console.WritePlainLine($"{e.Attributes.GetValueOrDefault("time", "?"),-24} {e.Type ?? "?",-24} {e.Subject ?? "?",-36} {top1,8}  {uri}");
                }
            }
        }, CancellationToken.None);
        return 0;
    }

    /// <summary>Whether an event's data names <paramref name="dataset"/> (its <c>dataset</c> field, a string).</summary>
    private static bool NamesDataset(JsonNode? data, string dataset) =>
        data is JsonObject o && o["dataset"] is JsonValue v && v.TryGetValue<string>(out var name) && name == dataset;
}
