using Akka.Streams;
using Akka.TestKit.Xunit2;
using BitActors.Actors;
using BitActors.Actors.Hosting;
using BitActors.Actors.Training;
using BitActors.Model.Training;
using BitActors.Streams.Datasets;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;
using SkiaSharp;

namespace BitActors.Actors.Tests;

/// <summary>A multi-label ImageFolder dataset (publish --labels) trained upstream end to end with the configured multi-label loss.</summary>
[Trait("Category", "EndToEnd")]
public sealed class MultiLabelRunTests() : TestKit(BitActorsConfig.Reference())
{
    private static readonly string[] Classes = ["a", "b", "c", "d"];

    /// <summary>ROOT/{train,test}/class/i.png, 16×16, a colour per class; every image also labelled with the next class.</summary>
    private static (DirectoryInfo Root, string Labels) WriteTree(int perClass)
    {
        var root = Directory.CreateTempSubdirectory("bitactors-multilabel");
        var lines = new List<string> { "# path,labels" };
        var random = new Random(3);
        foreach (var split in new[] { "train", "test" })
            for (int c = 0; c < Classes.Length; c++)
            {
                var folder = Directory.CreateDirectory(Path.Combine(root.FullName, split, Classes[c]));
                for (int i = 0; i < (split == "train" ? perClass : 2); i++)
                {
                    using var bitmap = new SKBitmap(16, 16);
                    bitmap.Erase(new SKColor((byte)(60 * c + random.Next(20)), (byte)(200 - 40 * c), (byte)random.Next(256)));
                    using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
                    File.WriteAllBytes(Path.Combine(folder.FullName, $"{i}.png"), data.ToArray());
                    lines.Add($"{split}/{Classes[c]}/{i}.png,{Classes[(c + 1) % Classes.Length]}");
                }
            }
        var labels = Path.Combine(root.FullName, "..", root.Name + ".labels.csv");
        File.WriteAllLines(labels, lines);
        return (root, labels);
    }

    [Fact]
    public async Task APublishedMultiLabelImageFolderTrainsUpstreamWithMultiHotTargetsAndTheConfiguredLoss()
    {
        var (root, labels) = WriteTree(perClass: 12);
        using var kafka = new EmbeddedKafka();
        var output = Directory.CreateTempSubdirectory("bitactors-multilabel-run");
        try
        {
            await kafka.EnsureTopicAsync(new TopicSpec(Topics.Models, 1));
            var published = await new DatasetPublisher(kafka, Sys.Materializer()).PublishAsync(ImageFolderDataset.Load("tagged", root.FullName, labels));
            Assert.True(published.Manifest.MultiLabel);

            // What the trainer is fed: two ids per image become two ones in its target row.
            var records = KafkaRecordSource.Create(kafka.Endpoint, published.Manifest.Split("train"));
            var augment = new AugmentSettings(18, 16, 3);
            var batch = (await Akka.Streams.Dsl.SourceOperations.Take(ImagePipelines.Train(records, ClassSubset.Range(0, 4), augment,
                    batchSize: 8, shuffleBuffer: 1, seed: 0, parallelism: 1, multiLabel: true), 1)
                .RunWith(Akka.Streams.Dsl.Sink.First<ImageBatch>(), Sys.Materializer()));
            Assert.NotNull(batch.Targets);
            for (int i = 0; i < batch.Count; i++)
            {
                var row = batch.Targets!.Skip(i * 4).Take(4).ToArray();
                Assert.Equal(2f, row.Sum());
                Assert.Equal(1f, row[batch.Labels[i]]);
                Assert.Equal(1f, row[(batch.Labels[i] + 1) % 4]);
            }

            var reference = BitActorsConfig.Upstream(BitActorsConfig.Reference());
            Assert.Equal(MultiLabelLoss.Sigmoid, reference.Optimizer.MultiLabelLoss); // hocon bitactors.upstream.multi-label-loss
            var upstream = reference with
            {
                Data = reference.Data with { Dataset = "tagged", Classes = ClassSubset.Range(0, 4), Augment = augment, ShuffleBuffer = 16, DecodeParallelism = 2 },
                Schedule = reference.Schedule with { BatchSize = 8, Steps = 12 },
                Loop = reference.Loop with { ProgressEvery = 1, CheckpointEvery = 0 },
            };
            var run = new RunSpec("multi-label-run", kafka.Endpoint, output.FullName, upstream,
                new FineTuneSettings { Recipe = new() { BatchSize = 8, BaseLr = 0.003, MaxSteps = 5 }, Data = new() { Augment = augment, ShuffleBuffer = 16, DecodeParallelism = 2, EvalBatchSize = 16 }, Loop = new() { ProgressEvery = 250, MaxRestarts = 2 } },
                [new FineTuneTask("tagged-2shot", "tagged", ClassSubset.Range(0, 4), 2, 0, FromScratch: false)]);
            var reporter = CreateTestProbe();
            Sys.ActorOf(TrainingSupervisor.Props(run, reporter.Ref), "supervisor");

            var firstStep = reporter.FishForMessage<TrainingProgress>(m => m is TrainingProgress { Task: "upstream" }, TimeSpan.FromSeconds(90));
            // Sigmoid cross-entropy summed over 4 classes with 2 positives, head at the 1/4 prior: about
            // 2·ln 4 + 2·ln(4/3) ≈ 3.35, where a single-label softmax would start near ln 4 ≈ 1.39.
            Assert.InRange(firstStep.Loss, 2.5, 4.5);
            var completed = reporter.FishForMessage<RunCompleted>(m => m is RunCompleted, TimeSpan.FromMinutes(3));
            Assert.Equal(12, completed.Backbone.Steps);
            Assert.True(double.IsFinite(completed.Backbone.FinalLoss));
            Assert.Equal(8, completed.Backbone.UpstreamTest.Examples); // 2 test images per class
            Assert.Single(completed.Completed);
        }
        finally
        {
            output.Delete(true);
            root.Delete(true);
            File.Delete(labels);
        }
    }
}
