using Akka;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.TestKit.Xunit2;
using BitActors.Actors.FineTuning;
using BitActors.Actors.Hosting;
using BitActors.Actors.Tests.Fakes;
using BitActors.Actors.Training;
using BitActors.Streams.Datasets;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Tests;

/// <summary>
/// Runs that could never make a batch end at once naming why, instead of waiting in silence: a task whose every image is
/// refused (streamed or drawn), a task of classes outside the dataset, upstream classes outside it, and a feed of no
/// examples. Fake trainers, data in memory: no Kafka, no tensors.
/// </summary>
public sealed class SilentHangTests() : TestKit(BitActorsConfig.Reference())
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(20);

    private static FineTuneAttempt Attempt(FineTuneTask task, string folder) => new("hang-run", new KafkaEndpoint("unused:9092"),
        new FineTuneSettings
        {
            Recipe = new() { BatchSize = 8, BaseLr = 0.003, MaxSteps = 12 },
            Data = new() { Augment = new AugmentSettings(16, 16, 1), ShuffleBuffer = 16, DecodeParallelism = 1, EvalBatchSize = 64 },
            Loop = new() { ProgressEvery = 100, MaxRestarts = 1, RestartBackoffSeconds = 0.05 },
        },
        "cpu", task, new GivenBackbone(Path.Combine(folder, "backbone.bin"), "Tiny", 1),
        next => Path.Combine(folder, $"step{next}.bin"), Path.Combine(folder, "model.bin"));

    [Theory]
    [InlineData(null)] // every example, streamed epoch after epoch
    [InlineData(2)]    // a few-shot draw, replayed from memory
    public void ATaskWhoseEveryImageIsRefusedFailsNamingTheTaskInsteadOfWaitingForABatch(int? shots)
    {
        var data = new InMemoryFineTuneData(perClass: 4, undecodable: true);
        var log = new TrainerLog();
        var folder = Directory.CreateTempSubdirectory("bitactors-hang");
        var task = new FineTuneTask("all-refused", "memory", ClassSubset.Range(0, 3), shots, 0, FromScratch: false);
        try
        {
            ChildActorOf(FineTuneWorker.Props(Attempt(task, folder.FullName), CreateTestProbe().Ref, FakeTrainer.Factory(log), data));

            var failed = ExpectMsg<FineTuneFailed>(Soon);

            Assert.Contains("task all-refused", failed.Reason);
            Assert.Contains("were refused", failed.Reason);
            lock (log) Assert.Empty(log.Steps);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void ATaskOfAClassOutsideTheDatasetFailsBeforeReadingARecord()
    {
        var data = new InMemoryFineTuneData();
        var folder = Directory.CreateTempSubdirectory("bitactors-hang");
        var task = new FineTuneTask("class-99", "memory", new ClassSubset([3, 99]), null, 0, FromScratch: false);
        try
        {
            ChildActorOf(FineTuneWorker.Props(Attempt(task, folder.FullName), CreateTestProbe().Ref, FakeTrainer.Factory(new TrainerLog()), data));

            var failed = ExpectMsg<FineTuneFailed>(Soon);

            Assert.Equal("task class-99: class 99 not in dataset 'memory' (its classes are 0–9)", failed.Reason);
            Assert.Equal(0, data.Reads);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void UpstreamClassesOutsideTheDatasetFailTheRunBeforeStepZero()
    {
        var log = new TrainerLog();
        var reporter = CreateTestProbe();
        var run = new RunSpec("hang-upstream", new KafkaEndpoint("unused:9092"), Path.Combine(Path.GetTempPath(), "bitactors-hang-upstream"),
            new UpstreamSettings
            {
                Data = new() { Dataset = "synthetic", Classes = new ClassSubset([1, 7]), Augment = new AugmentSettings(4, 4, 1), ShuffleBuffer = 4, DecodeParallelism = 1 },
                Model = new("Tiny"),
                Schedule = new() { BatchSize = 8, Steps = 16 },
            },
            new FineTuneSettings { Recipe = new() { BatchSize = 8, BaseLr = 0.003 }, Data = new() { Augment = null, ShuffleBuffer = 8, DecodeParallelism = 1, EvalBatchSize = 64 } }, []);
        Sys.ActorOf(TrainingSupervisor.Props(run, reporter.Ref, FakeTrainer.Factory(log), new SyntheticUpstreamData(), EmptyDispatcher.Props));

        var failed = (RunFailed)reporter.FishForMessage(m => m is RunFailed or RunCompleted, Soon);

        Assert.Equal("bitactors.upstream: class 7 not in dataset 'synthetic' (its classes are 0–1)", failed.Reason);
        lock (log) Assert.Empty(log.ResumedFrom); // no trainer was made
    }

    [Fact]
    public void TheHyperRuleGivesNoScheduleAndTheFeedNoEpochsForATaskWithoutExamples()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BitActors.Model.Recipe.HyperRule.Schedule(0));
        Assert.Throws<ArgumentException>(() => FineTuneFeed.Permuted([], seed: 0));
    }

    [Fact]
    public async Task AFeedWhoseEpochIsRefusedWholeFailsWhileOneUsableRecordAnEpochKeepsItGoing()
    {
        var materializer = Sys.Materializer();
        ImageRecord Made(int epoch, int i, bool good) => new("t", 0, i, $"k{i}", i, [0], good ? [1] : [0], epoch);
        Source<ImageBatch, NotUsed> Feed(Func<int, int, bool> good)
        {
            var records = Source.From(Enumerable.Range(0, 1000)).SelectMany(e => Enumerable.Range(0, 5).Select(i => Made(e, i, good(e, i))));
            var (watched, refused) = RefusedEpochs.Watch(records, "task t", null);
            // A stand-in for the decoders: a record of value 0 is refused, from another thread, later.
            return watched.SelectAsync(2, r => Task.Run(() =>
            {
                if (r.Value[0] == 0) refused(new RejectedRecord(r, "undecodable"));
                return r;
            })).Where(r => r.Value[0] == 1).Select(r => new ImageBatch([], [1], [0]));
        }

        var e = await Record.ExceptionAsync(() => Feed((_, _) => false).RunWith(Sink.Ignore<ImageBatch>(), materializer).WaitAsync(Soon));
        var cause = e is AggregateException { InnerException: { } inner } ? inner : e;
        Assert.IsType<InvalidDataException>(cause);
        Assert.Contains("task t: all 5 training records of epoch 0 were refused (the last: undecodable)", cause.Message);

        var batches = await Feed((_, i) => i == 4).Take(300).RunWith(Sink.Seq<ImageBatch>(), materializer).WaitAsync(Soon);
        Assert.Equal(300, batches.Count);
    }
}
