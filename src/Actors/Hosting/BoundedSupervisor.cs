using Akka.Actor;
using Akka.Event;

namespace BitActors.Actors.Hosting;

/// <summary>
/// The parent of one top-level actor (a run's supervisor or reporter, a node's device slot), in place of Akka's user
/// guardian, which restarts a failing child without limit: a handler that throws on every try would loop forever (or
/// rerun a whole training). Here the child is restarted at most <c>maxRestarts</c> times in all — a total, not per
/// time window, so a failure that repeats ends — then stopped; <c>gaveUp</c> hears the last failure (to report it)
/// and this actor stops with its child. Messages sent to it go on to the child unchanged (their sender kept), so it
/// stands in for the child wherever the child's reference would be passed.
/// </summary>
public sealed class BoundedSupervisor : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Props _child;
    private readonly string _childName;
    private readonly int _maxRestarts;
    private readonly Action<Exception, int>? _gaveUp;
    private IActorRef _ref = ActorRefs.Nobody;
    private Exception? _lastFailure;
    private int _failures;
    private bool _gaveUpOnChild;

    public BoundedSupervisor(Props child, string childName, int maxRestarts, Action<Exception, int>? gaveUp)
    {
        (_child, _childName, _maxRestarts, _gaveUp) = (child, childName, Math.Max(0, maxRestarts), gaveUp);
        Receive<Terminated>(t => t.ActorRef.Equals(_ref), _ =>
        {
            // Stopped after its last failure (budget spent, or a failed start), not by its own decision.
            if (_gaveUpOnChild) _gaveUp?.Invoke(_lastFailure!, _failures);
            Context.Stop(Self);
        });
        ReceiveAny(m => _ref.Forward(m));
    }

    /// <param name="child">The actor to keep.</param>
    /// <param name="childName">Its name under this one.</param>
    /// <param name="maxRestarts">Restarts allowed in all (0: stopped at its first failure).</param>
    /// <param name="gaveUp">Called with the last failure and the number of failures when the child is stopped for good.</param>
    public static Props Props(Props child, string childName, int maxRestarts, Action<Exception, int>? gaveUp = null) =>
        Akka.Actor.Props.Create(() => new BoundedSupervisor(child, childName, maxRestarts, gaveUp));

    protected override void PreStart() => _ref = Context.Watch(Context.ActorOf(_child, _childName));

    /// <summary>
    /// Restart until the budget is spent (counted here, over the child's whole life); a failed start (constructor,
    /// <c>PreStart</c>) is not retried: it would fail the same way. Logged here, once, with the count.
    /// </summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(-1, -1, Decider.From(e =>
    {
        _lastFailure = e is ActorInitializationException { InnerException: { } inner } ? inner : e;
        _failures++;
        bool restart = e is not ActorInitializationException && _failures <= _maxRestarts;
        _gaveUpOnChild = !restart;
        _log.Error(_lastFailure, "{0} failed ({1} of at most {2} tries): {3}: {4}; {5}", _childName, _failures, _maxRestarts + 1,
            _lastFailure.GetType().Name, _lastFailure.Message, restart ? "restarting it" : "stopping it");
        return restart ? Directive.Restart : Directive.Stop;
    }), loggingEnabled: false);
}
