using BitActors.Actors.FineTuning;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Tests;

/// <summary>The number of examples the HyperRule sizes a fine-tune run by leaves out records known to be unusable.</summary>
public sealed class FineTuneExamplesTests
{
    private static ImageRecord Record(int index, int[] labels, string? defect = null) =>
        new("bit.data.x.train", 0, index, $"k{index}", index, labels, [1], 0, defect);

    [Fact]
    public void AnAllExamplesTaskCountsOnlyUsableRecordsOfItsClasses()
    {
        var task = new FineTuneTask("all", "x", ClassSubset.Range(5, 5), Shots: null, Seed: 0, FromScratch: false);
        var train = Enumerable.Range(0, 20).Select(i => Record(i, [5 + i % 5]))
            .Append(Record(20, [], "missing header bit.labels"))
            .Append(Record(21, [5], "empty value"))
            .Append(Record(22, [99], "label 99 is not one of this task's classes"))
            .Append(Record(23, [2]))  // a class outside the task, not flagged yet
            .ToList();
        Assert.Equal(20, FineTuneWorker.UsableExamples(task, train));
    }

    [Fact]
    public void AFewShotDrawCountsAllItsRecords()
    {
        var task = new FineTuneTask("5shot", "x", ClassSubset.Range(0, 2), Shots: 5, Seed: 0, FromScratch: false);
        var drawn = Enumerable.Range(0, 10).Select(i => Record(i, [i % 2])).ToList();
        Assert.Equal(10, FineTuneWorker.UsableExamples(task, drawn));
    }

    [Fact]
    public void TheTrainingSetDoesNotDependOnHowPartitionsInterleavedWhenRead()
    {
        var records = Enumerable.Range(0, 40).Select(i => Record(i, [5 + i % 5])).ToList();
        var interleaved = records.Where(r => r.Index % 3 == 1).Concat(records.Where(r => r.Index % 3 != 1)).Reverse().ToList();
        foreach (int? shots in new int?[] { null, 2 })
        {
            var task = new FineTuneTask("t", "x", ClassSubset.Range(5, 5), shots, Seed: 3, FromScratch: false);
            Assert.Equal(FineTuneWorker.Chosen(task, records).Select(r => r.Key), FineTuneWorker.Chosen(task, interleaved).Select(r => r.Key));
        }
        var all = FineTuneWorker.Chosen(new FineTuneTask("all", "x", ClassSubset.Range(5, 5), null, 0, false), interleaved);
        Assert.Equal(Enumerable.Range(0, 40).Select(i => (long)i), all.Select(r => r.Index));
    }
}
