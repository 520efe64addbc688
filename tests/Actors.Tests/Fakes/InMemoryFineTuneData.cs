using Akka;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using BitActors.Actors.FineTuning;
using BitActors.Model.Training;
using BitActors.Streams.Datasets;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;
using SkiaSharp;

namespace BitActors.Actors.Tests.Fakes;

/// <summary>
/// Fine-tune data without Kafka: <c>perClass</c> 16×16 PNG records of each of 10 classes, made as they are read (never
/// held), a fixed evaluation result, and the rejects kept in a list. <c>classCounts</c>: whether the manifest counts
/// images per class (as publish writes it now) or not (an older manifest). <c>undecodable</c>: every record's value is
/// bytes no codec reads (each is refused by the pipeline).
/// </summary>
internal sealed class InMemoryFineTuneData(int perClass = 10, bool classCounts = true, bool undecodable = false) : IFineTuneData
{
    public static readonly EvaluationResult Evaluation = new(0.6, 1.0, 0.7, 10, [0.6, 0.6, 0.6, 0.6, 0.6], []);

    private int _reads;
    private long _yielded;

    /// <summary>Passes over the training split begun.</summary>
    public int Reads => Volatile.Read(ref _reads);

    /// <summary>Training records handed out so far, all passes together.</summary>
    public long Yielded => Interlocked.Read(ref _yielded);

    public List<RejectedRecord> Rejected { get; } = new();

    public Task<DatasetManifest> ReadManifestAsync(FineTuneTask task) =>
        Task.FromResult(new DatasetManifest("memory", Enumerable.Range(0, 10).Select(c => $"c{c}").ToList(), false, new ImageSize(16, 16, 1), "hash",
            [new SplitManifest("train", "bit.data.memory.train", 1, 10 * perClass, [10 * perClass], ClassCounts: classCounts ? Enumerable.Repeat((long)perClass, 10).ToList() : null),
             new SplitManifest("test", "bit.data.memory.test", 1, 10, [10])],
            DateTimeOffset.UnixEpoch));

    public Source<ImageRecord, NotUsed> TrainRecords(DatasetManifest manifest, FineTuneTask task, int? epochs) =>
        Source.From(Records(task, epochs));

    private IEnumerable<ImageRecord> Records(FineTuneTask task, int? epochs)
    {
        Interlocked.Increment(ref _reads);
        for (int epoch = 0; epochs is null || epoch < epochs; epoch++)
            for (int i = 0; i < 10 * perClass; i++)
                if (task.Classes.Contains([i % 10]))
                {
                    Interlocked.Increment(ref _yielded);
                    yield return new ImageRecord("bit.data.memory.train", 0, i, $"k{i}", i, [i % 10], undecodable ? [1, 2, 3, (byte)i] : Png(i), epoch);
                }
    }

    public void Reject(RejectedRecord rejected)
    {
        lock (Rejected) Rejected.Add(rejected);
    }

    public Task<EvaluationResult> EvaluateAsync(DatasetManifest manifest, FineTuneTask task, AugmentSettings augment, IActorRef trainer, IMaterializer materializer) =>
        Task.FromResult(Evaluation);

    public void Dispose() { }

    private static byte[] Png(int seed)
    {
        var random = new Random(seed);
        using var bitmap = new SKBitmap(16, 16);
        for (int y = 0; y < 16; y++)
            for (int x = 0; x < 16; x++)
                bitmap.SetPixel(x, y, new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 90);
        return data.ToArray();
    }
}
