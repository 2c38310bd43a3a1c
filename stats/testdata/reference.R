# Reference values for the stats package tests, computed with R 4.2.2
# (Debian r-base-core). Run: Rscript stats/testdata/reference.R
# The tests hold the printed values as constants; R is not needed to run them.

p <- function(...) { v <- c(...); cat(paste(sprintf("%.17g", v), collapse=", "), "\n") }
hdr <- function(s) cat("##", s, "\n")
bt <- function(x, n, pr, alt="two.sided", cl=0.95) { r <- binom.test(x, n, pr, alternative=alt, conf.level=cl); hdr(sprintf("binom.test(%d, %d, p=%g, alt=%s, conf=%g)", x, n, pr, alt, cl)); p(r$p.value, r$conf.int) }
bt(682, 925, 0.75)
bt(682, 925, 0.75, "greater")
bt(682, 925, 0.75, "less")
bt(6, 6, 0.05)
bt(6, 6, 0.05, "greater")
bt(0, 20, 0.3)
bt(7, 20, 0.6, cl=0.99)
bt(60, 100, 0.5)
bt(5200, 10000, 0.5)
bt(30, 1000, 0.05)
bt(80, 1000, 0.05)
bt(11, 40, 0.1, "less", 0.9)
pt <- function(A, B, f, alt="two.sided") { r <- poisson.test(c(A,B), c(f, 1-f), alternative=alt); hdr(sprintf("poisson.test(c(%d,%d), c(%g,%g), alt=%s)", A, B, f, 1-f, alt)); p(r$p.value, r$estimate, r$conf.int) }
pt(6, 0, 0.05)
pt(6, 0, 0.05, "greater")
pt(30, 270, 0.1)
pt(45, 255, 0.1, "greater")
pr <- function(A, N, f, alt="two.sided") { r <- prop.test(A, N, p=f, correct=FALSE, alternative=alt); hdr(sprintf("prop.test(%d, %d, p=%g, correct=FALSE, alt=%s)", A, N, f, alt)); p(r$statistic, r$p.value, r$conf.int) }
pr(30, 300, 0.1)
pr(45, 300, 0.1)
pr(45, 300, 0.1, "greater")
pr(530, 1000, 0.5)
pr(0, 50, 0.2)
hdr("chisq.test(c(45,255), p=c(.1,.9))"); r <- chisq.test(c(45,255), p=c(.1,.9)); p(r$statistic, r$p.value)

wt <- function(lbl, x, y, ...) { r <- suppressWarnings(wilcox.test(x, y, conf.int=TRUE, ...)); hdr(paste(lbl, r$method)); p(r$statistic, r$p.value, r$estimate, r$conf.int) }
# Wikipedia tortoise and hare: finishing order T H H H H H T T T T T H
tort <- c(1,7,8,9,10,11); hare <- c(2,3,4,5,6,12)
wt("hare vs tortoise exact 0.98", hare, tort, conf.level=0.98)
wt("hare vs tortoise exact 0.95", hare, tort)
wt("hare vs tortoise normal", hare, tort, exact=FALSE, conf.level=0.98)
# R ?wilcox.test example (Hollander & Wolfe p.110): depression
x <- c(0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46)
y <- c(1.15, 0.88, 0.90, 0.74, 1.21)
wt("HW greater", x, y, alternative="greater")
wt("HW two", x, y)
wt("HW less 0.9", x, y, alternative="less", conf.level=0.9)
wt("kayenta", c(10,20,30,40), c(1,2,3,4), exact=FALSE, conf.level=0.95)
set.seed(42)
a <- sample(0:30, 60, replace=TRUE); b <- sample(3:35, 70, replace=TRUE)
cat("a <- "); dput(a); cat("b <- "); dput(b)
wt("ties two 0.98", b, a, conf.level=0.98)
wt("ties greater 0.95", b, a, alternative="greater")
wt("ties less nocorrect 0.9", b, a, alternative="less", correct=FALSE, conf.level=0.9)
# exact, larger no-tie samples
set.seed(7)
c1 <- round(rnorm(30, 100, 15), 3); c2 <- round(rnorm(40, 108, 15), 3)
cat("c1 <- "); dput(c1); cat("c2 <- "); dput(c2)
cat("ties?", any(duplicated(c(c1,c2))), "\n")
wt("exact 30x40 two 0.98", c2, c1, conf.level=0.98)
wt("exact 30x40 greater 0.95", c2, c1, alternative="greater")
wt("normal 30x40 two 0.98", c2, c1, exact=FALSE, conf.level=0.98)

tt <- function(lbl, tr, ct, ...) { r <- t.test(tr, ct, var.equal=FALSE, ...); hdr(lbl); p(r$statistic, r$parameter, r$p.value, r$conf.int, mean(tr)-mean(ct)) }
A1 <- c(27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4)
A2 <- c(27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4)
tt("wiki ex1 t.test(A1, A2)", A1, A2)
B1 <- c(17.2, 20.9, 22.6, 18.1, 21.7, 21.4, 23.5, 24.2, 14.7, 21.8)
B2 <- c(21.5, 22.8, 21.0, 23.0, 21.6, 23.6, 22.5, 20.7, 23.4, 21.8, 20.7, 21.7, 21.5, 22.5, 23.6, 21.5, 22.5, 23.5, 21.5, 21.8)
tt("wiki ex2 t.test(B1, B2)", B1, B2)
C1 <- c(19.8, 20.4, 19.6, 17.8, 18.5, 18.9, 18.3, 18.9, 19.5, 22.0)
C2 <- c(28.2, 26.6, 20.1, 23.3, 25.2, 22.1, 17.7, 27.6, 20.6, 13.7, 23.2, 17.5, 20.6, 18.0, 23.9, 21.6, 24.3, 20.4, 23.9, 13.3)
tt("wiki ex3 t.test(C1, C2)", C1, C2)
tt("wiki ex1 greater 0.9", A1, A2, alternative="greater", conf.level=0.9)
tt("wiki ex3 less 0.99", C1, C2, alternative="less", conf.level=0.99)
hdr("sleep t.test(extra ~ group) [R datasets]"); r <- t.test(extra ~ group, data = sleep); p(r$statistic, r$parameter, r$p.value, r$conf.int)
hdr("IMVU prop.test(c(66903,64630), c(150702,148266), correct=FALSE)")
r <- prop.test(c(66903,64630), c(150702,148266), correct=FALSE); p(r$statistic, r$p.value, r$conf.int, r$estimate)
r <- prop.test(c(66903,64630), c(150702,148266), correct=FALSE, alternative="greater"); hdr("IMVU greater"); p(r$statistic, r$p.value, r$conf.int)
hdr("IMVU pnorm z"); x1<-64630;n1<-148266;x2<-66903;n2<-150702; pp<-(x1+x2)/(n1+n2); z<-(x2/n2-x1/n1)/sqrt(pp*(1-pp)*(1/n1+1/n2)); p(z, 2*pnorm(-z), pnorm(-z))
hdr("prop.test(c(45,30), c(500,520), alt=less, conf=0.9)"); r <- prop.test(c(45,30), c(500,520), correct=FALSE, alternative="less", conf.level=0.9); p(r$statistic, r$p.value, r$conf.int)
hdr("chisq.test(c(5050,4950), p=c(.5,.5))"); r<-chisq.test(c(5050,4950), p=c(.5,.5)); p(r$statistic, r$p.value)
hdr("chisq.test(c(3421,3350,3229), p=c(1,1,1), rescale.p=TRUE)"); r<-chisq.test(c(3421,3350,3229), p=c(1,1,1), rescale.p=TRUE); p(r$statistic, r$p.value)
hdr("chisq.test(c(5120,2400,2480), p=c(2,1,1), rescale.p=TRUE)"); r<-chisq.test(c(5120,2400,2480), p=c(2,1,1), rescale.p=TRUE); p(r$statistic, r$p.value, r$expected)
hdr("chisq.test(c(148266,150702)) IMVU users SRM"); r<-chisq.test(c(148266,150702)); p(r$statistic, r$p.value)
pv <- c(0.01, 0.04, 0.03, 0.005, 0.2, 0.04, NA, 0.5, 0.0001)
hdr("p.adjust holm"); p(p.adjust(pv, "holm"))
hdr("p.adjust BH"); p(p.adjust(pv, "BH"))
pv2 <- c(0.9, 0.8, 0.95)
hdr("p.adjust holm 2"); p(p.adjust(pv2, "holm")); hdr("p.adjust BH 2"); p(p.adjust(pv2, "BH"))
# delta method relative lift, via symbolic derivative
g <- deriv(~ mt/mc - 1, c("mc", "mt"), function.arg=TRUE)
lift <- function(mc, vc, mt, vt) { e <- g(mc, mt); gr <- attr(e, "gradient"); se <- sqrt(gr[1]^2*vc + gr[2]^2*vt); c(e[1], se) }
hdr("lift IMVU (mc, vc, mt, vt) -> est, se, ci95")
pc<-x1/n1; pt<-x2/n2; l <- lift(pc, pc*(1-pc)/n1, pt, pt*(1-pt)/n2); p(l, l[1]+c(-1,1)*qnorm(0.975)*l[2])
hdr("lift means (12.5, 0.09, 13.1, 0.11) conf .9"); l <- lift(12.5, 0.09, 13.1, 0.11); p(l, l[1]+c(-1,1)*qnorm(0.95)*l[2])

# Normal mixture LR by numerical integration over theta ~ N(null, tau2)
nmLR <- function(est, V, null, tau2) {
  num <- integrate(function(th) dnorm(est, th, sqrt(V)) * dnorm(th, null, sqrt(tau2)), null - 40*sqrt(tau2), null + 40*sqrt(tau2), rel.tol=1e-13, abs.tol=0, subdivisions=2000L)$value
  num / dnorm(est, null, sqrt(V))
}
nmCS <- function(est, V, tau2, alpha) {
  f <- function(th0) log(nmLR(est, V, th0, tau2)) - log(1/alpha)
  w <- 20*sqrt(V+tau2)
  c(uniroot(f, c(est - w, est), tol=1e-14)$root, uniroot(f, c(est, est + w), tol=1e-14)$root)
}
nm <- function(est, V, null, tau2, alpha) { hdr(sprintf("normal mixture est=%g V=%g null=%g tau2=%g alpha=%g -> LR, CS", est, V, null, tau2, alpha)); p(nmLR(est, V, null, tau2), nmCS(est, V, tau2, alpha)) }
nm(0.8, 0.09, 0, 0.5, 0.05)
nm(-0.03, 0.0001, 0, 0.0008, 0.05)
nm(2.5, 1.0, 1.0, 3.0, 0.1)
# Beta-binomial mixture marginal by numerical integration
bbM <- function(A, B, a, b, lo=0, hi=1) {
  li <- function(q) (if (A>0) A*log(q) else 0) + (if (B>0) B*log1p(-q) else 0) + dbeta(q, a, b, log=TRUE)
  # rescale by the peak so that integrate's absolute tolerance does not bite
  pk <- optimize(li, c(lo, hi), maximum=TRUE)$objective
  m <- (A + a - 1)/(A + B + a + b - 2); m <- min(max(m, lo), hi)
  f <- function(q) exp(li(q) - pk)
  v <- integrate(f, lo, m, rel.tol=1e-13, abs.tol=0, subdivisions=5000L)$value + integrate(f, m, hi, rel.tol=1e-13, abs.tol=0, subdivisions=5000L)$value
  exp(log(v) + pk) / (pbeta(hi, a, b) - pbeta(lo, a, b))
}
bb <- function(A, B, f, k, alt="two", alpha=0.05) {
  a <- k*f; b <- k*(1-f)
  lo <- 0; hi <- 1; if (alt=="greater") lo <- f; if (alt=="less") hi <- f
  M <- bbM(A, B, a, b, lo, hi)
  LR <- M / exp(A*log(f) + B*log1p(-f))
  ll <- function(p0) (if (A>0) A*log(p0) else 0) + (if (B>0) B*log1p(-p0) else 0)
  g <- function(p0) log(M) - ll(p0) - log(1/alpha)
  ph <- A/(A+B)
  L <- if (A == 0) 0 else uniroot(g, c(1e-300, ph), tol=1e-15)$root
  U <- if (B == 0) 1 else uniroot(g, c(ph, 1-1e-16), tol=1e-15)$root
  hdr(sprintf("beta-binomial A=%d B=%d f=%g kappa=%g alt=%s alpha=%g -> LR, shareCS", A, B, f, k, alt, alpha)); p(LR, L, U)
}
bb(6, 0, 0.05, 10)
bb(6, 0, 0.05, 10, "greater")
bb(30, 270, 0.1, 10)
bb(45, 255, 0.1, 10)
bb(45, 255, 0.1, 10, "greater")
bb(12, 30, 0.5, 4, "less", 0.1)
bb(520, 480, 0.5, 10)

