using Akka;
using Akka.Streams.Dsl;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;

namespace BitActors.Actors.Training;

/// <summary>
/// Ends a training feed whose data cannot be trained on: when every record of an epoch was refused (undecodable, a
/// label outside the dataset, read twice), the feed would replay such epochs without end and never make a batch, the
/// run waiting in silence. Counts per epoch the records offered to the pipeline and those it refused; an epoch is
/// whole once a record of a later one is offered (refusals come later, from the decoders, and are counted then).
/// An epoch with at least one usable record is never refused, however many bad ones it has.
/// </summary>
public sealed class RefusedEpochs(string what)
{
    private readonly object _gate = new();
    private readonly Dictionary<int, (long Offered, long Refused)> _epochs = new();
    private int _current = -1;
    private string _lastReason = "";

    /// <summary>
    /// <paramref name="records"/> counted as they enter the pipeline, and the refusal callback to give the pipeline
    /// (it counts, then calls <paramref name="onRejected"/>): the feed fails with <see cref="InvalidDataException"/>
    /// naming <c>what</c> once a whole epoch was refused.
    /// </summary>
    public static (Source<ImageRecord, NotUsed> Records, Action<RejectedRecord> OnRejected) Watch(
        Source<ImageRecord, NotUsed> records, string what, Action<RejectedRecord>? onRejected)
    {
        var epochs = new RefusedEpochs(what);
        return (records.Select(epochs.Offered), r =>
        {
            epochs.Refused(r);
            onRejected?.Invoke(r);
        });
    }

    public ImageRecord Offered(ImageRecord record)
    {
        lock (_gate)
        {
            if (record.Epoch != _current)
            {
                int previous = _current;
                _current = record.Epoch;
                foreach (var old in _epochs.Keys.Where(e => e < _current - 2).ToList()) _epochs.Remove(old);
                FailIfAllRefused(previous);
            }
            var (offered, refused) = _epochs.GetValueOrDefault(record.Epoch);
            _epochs[record.Epoch] = (offered + 1, refused);
        }
        return record;
    }

    public void Refused(RejectedRecord rejected)
    {
        lock (_gate)
        {
            int epoch = rejected.Record.Epoch;
            if (!_epochs.TryGetValue(epoch, out var counts)) return;
            _epochs[epoch] = (counts.Offered, counts.Refused + 1);
            _lastReason = rejected.Reason;
            if (epoch < _current) FailIfAllRefused(epoch);
        }
    }

    private void FailIfAllRefused(int epoch)
    {
        if (_epochs.TryGetValue(epoch, out var c) && c.Offered > 0 && c.Refused >= c.Offered)
            throw new InvalidDataException($"{what}: all {c.Offered} training records of epoch {epoch} were refused (the last: {_lastReason}); " +
                "nothing to train on (see bit.deadletter for each record and its reason)");
    }
}
