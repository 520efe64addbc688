using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using BitActors.Actors.FineTuning;
using BitActors.Actors.Tests.Fakes;
using BitActors.Model.Recipe;
using BitActors.Streams.Images;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Tests;

/// <summary>
/// A fine-tune task's feed holds what its settings allow, not its split: all examples are counted from the manifest
/// (or one pass that keeps nothing) and streamed every epoch; a few-shot draw keeps k per class, the same whatever the
/// read order, and is permuted fully every epoch.
/// </summary>
public sealed class FineTuneFeedTests : IDisposable
{
    private readonly ActorSystem system = ActorSystem.Create("fine-tune-feed-tests");
    private static readonly FineTuneTask All = new("all", "memory", ClassSubset.Range(5, 5), Shots: null, Seed: 3, FromScratch: false);

    private static FineTuneSettings Settings(int shuffle) => new()
    {
        Recipe = new() { BatchSize = 8 },
        Data = new() { Augment = new AugmentSettings(16, 16, 1), ShuffleBuffer = shuffle, DecodeParallelism = 2 },
    };

    [Theory]
    [InlineData(true, 0)]
    [InlineData(false, 1)]
    public async Task AnAllExamplesTaskIsCountedFromTheManifestsClassCountsOrByOnePass(bool classCounts, int passes)
    {
        var data = new InMemoryFineTuneData(perClass: 30, classCounts);
        var manifest = await data.ReadManifestAsync(All);
        var examples = await FineTuneFeed.PrepareAsync(data, manifest, All, system.Materializer());
        Assert.Equal((150L, (IReadOnlyList<Streams.Kafka.ImageRecord>?)null), (examples.Count, examples.Shots));
        Assert.Equal(passes, data.Reads);
    }

    [Theory]
    [InlineData(200)]
    [InlineData(4_000)]
    public async Task TheRecordsAnAllExamplesFeedHoldsAreBoundedByItsBuffersWhateverTheSplitsSize(int perClass)
    {
        const int shuffle = 32, batches = 40;
        var data = new InMemoryFineTuneData(perClass);
        var settings = Settings(shuffle);
        var manifest = await data.ReadManifestAsync(All);
        var examples = await FineTuneFeed.PrepareAsync(data, manifest, All, system.Materializer());
        long received = 0, mostHeld = 0;
        await FineTuneFeed.Batches(data, manifest, All, examples, settings.Data.Augment!, settings)
            .Take(batches)
            .RunForeach(b =>
            {
                received += b.Count;
                mostHeld = Math.Max(mostHeld, data.Yielded - received); // read from the split, not yet given to the trainer
            }, system.Materializer());
        Assert.InRange(mostHeld, shuffle, shuffle + 2 * settings.Recipe.BatchSize + 2 * settings.Data.DecodeParallelism + 4);
        Assert.True(data.Yielded < batches * 8 + 100, $"{data.Yielded} records read for {batches} batches of a split of {5 * perClass}");
    }

    [Fact]
    public async Task AFewShotTaskDrawsKPerClassInOnePass()
    {
        var data = new InMemoryFineTuneData(perClass: 200);
        var task = All with { Shots = 3 };
        var manifest = await data.ReadManifestAsync(task);
        var examples = await FineTuneFeed.PrepareAsync(data, manifest, task, system.Materializer());
        Assert.Equal(15, examples.Count);
        Assert.All(examples.Shots!.GroupBy(r => r.Labels[0]), g => Assert.Equal(3, g.Count()));
        Assert.Equal([5, 6, 7, 8, 9], examples.Shots!.Select(r => r.Labels[0]).Distinct().Order());
        Assert.Equal(1, data.Reads);
    }

    private static IReadOnlyList<(long Id, int Label)> Draw(IEnumerable<(long Id, int Label)> items, int k, int seed)
    {
        var draw = new FewShotDraw<(long Id, int Label)>(k, seed, x => x.Id, x => x.Label);
        foreach (var item in items) draw.Offer(item);
        return draw.Result([0, 1, 2, 3]);
    }

    [Fact]
    public void AFewShotDrawIsTheSameWhateverTheReadOrderAndDiffersBetweenSeeds()
    {
        var items = Enumerable.Range(0, 2_000).Select(i => ((long)i, i % 4)).ToArray();
        var drawn = Draw(items, k: 5, seed: 1);
        Assert.All(drawn.GroupBy(x => x.Label), g => Assert.Equal(5, g.Count()));
        foreach (var order in new[] { 2, 3, 4 })
        {
            var shuffled = items.ToArray();
            new Random(order).Shuffle(shuffled);
            Assert.Equal(drawn, Draw(shuffled, k: 5, seed: 1));
        }
        Assert.Equal(drawn, Draw(items.Concat(items.Take(50)), k: 5, seed: 1)); // a record read twice counts once
        Assert.NotEqual(drawn, Draw(items, k: 5, seed: 2));
        Assert.Contains("class 3 has 1 examples, fewer than the 2 shots asked for", Assert.Throws<InvalidOperationException>(() => Draw(items.Take(7), 2, 0)).Message);
    }

    [Fact]
    public void AFewShotDrawIsUniformOverItsClass()
    {
        var items = Enumerable.Range(0, 20).Select(i => ((long)i, 0)).ToArray();
        var counts = new int[20];
        for (int seed = 0; seed < 4_000; seed++)
        {
            var draw = new FewShotDraw<(long Id, int Label)>(5, seed, x => x.Id, x => x.Label);
            foreach (var item in items) draw.Offer(item);
            foreach (var (id, _) in draw.Result()) counts[id]++;
        }
        Assert.All(counts, c => Assert.InRange(c, 850, 1_150)); // 4000 × 5/20 = 1000 each, sd ≈ 27
    }

    [Fact]
    public async Task FewShotExamplesArePermutedFullyEachEpochTheSameWayForTheSameSeed()
    {
        var shots = Enumerable.Range(0, 30).Select(i => new Streams.Kafka.ImageRecord("t", 0, i, $"k{i}", i, [i % 3], [1], 0)).ToList();
        var epochs = Enumerable.Range(0, 4).Select(e => FineTuneFeed.Epoch(shots, seed: 9, e)).ToList();
        Assert.All(epochs, e => Assert.Equal(Enumerable.Range(0, 30).Select(i => (long)i), e.Select(r => r.Index).Order()));
        Assert.Equal(4, epochs.Select(e => string.Join(",", e.Select(r => r.Index))).Distinct().Count());
        Assert.All(epochs.Select((e, i) => (e, i)), x => Assert.All(x.e, r => Assert.Equal(x.i, r.Epoch)));
        Assert.Equal(epochs[2].Select(r => r.Index), FineTuneFeed.Epoch(shots, seed: 9, 2).Select(r => r.Index));
        Assert.NotEqual(epochs[0].Select(r => r.Index), FineTuneFeed.Epoch(shots, seed: 10, 0).Select(r => r.Index));
        var streamed = await FineTuneFeed.Permuted(shots, seed: 9).Take(120).RunWith(Sink.Seq<Streams.Kafka.ImageRecord>(), system.Materializer());
        Assert.Equal(epochs.SelectMany(e => e).Select(r => (r.Index, r.Epoch)), streamed.Select(r => (r.Index, r.Epoch)));
    }

    public void Dispose() => system.Terminate().Wait();
}
